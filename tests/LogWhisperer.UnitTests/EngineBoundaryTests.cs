using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using LogWhisperer.Kafka;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Tests;

/// <summary>What the engine library may and may not do to its host.</summary>
public class EngineBoundaryTests
{
    /// <summary>
    /// The engine reports through the ILogger it is given; the CLI (or any other host) owns the console. A
    /// library that writes to stderr cannot be silenced, routed or formatted by its host, and mixes with what the
    /// host prints there.
    /// </summary>
    [Fact]
    public void TheEngineLibraryNeverTouchesTheConsole()
    {
        using var stream = File.OpenRead(typeof(KafkaTelemetryProducer).Assembly.Location);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var uses = metadata
            .MemberReferences.Select(metadata.GetMemberReference)
            .Where(m => m.Parent.Kind == HandleKind.TypeReference && IsConsole(metadata, (TypeReferenceHandle)m.Parent))
            .Select(m => "System.Console." + metadata.GetString(m.Name))
            .Distinct()
            .ToList();
        Assert.True(uses.Count == 0, "the engine uses " + string.Join(", ", uses));
    }

    private static bool IsConsole(MetadataReader metadata, TypeReferenceHandle handle)
    {
        var type = metadata.GetTypeReference(handle);
        return metadata.GetString(type.Namespace) == "System" && metadata.GetString(type.Name) == "Console";
    }

    [Fact]
    public void AProducerLogsEachKindOfFailedDeliveryOncePerTopicAndCountsThemAll()
    {
        // Nothing listens on port 1: every delivery fails (after the short message timeout) with the same error.
        var settings = new KafkaSettings
        {
            BootstrapServers = "127.0.0.1:1",
            ClientConfig = new Dictionary<string, string> { ["message.timeout.ms"] = "1000", ["log_level"] = "0" },
        };
        using var logs = new CapturingLoggerProvider();
        using (
            var producer = new KafkaTelemetryProducer(
                settings,
                new("a_logs", "a_metrics", "a_spans"),
                log: logs.CreateLogger("producer")
            )
        )
        {
            for (int i = 0; i < 20; i++)
                producer.Send("a_logs", "k", [1, 2, 3]);
            var failed = Assert.Throws<InvalidOperationException>(producer.Flush);
            Assert.Contains("20 message(s) could not be delivered", failed.Message);
            Assert.Equal(20, producer.Failed);
        }
        var errors = logs
            .Lines.Where(l => l.StartsWith(nameof(LogLevel.Error) + " ", StringComparison.Ordinal))
            .ToList();
        Assert.Single(errors);
        Assert.Contains("kafka: produce to a_logs failed", errors[0]);
    }
}
