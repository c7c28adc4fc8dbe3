using LogWhisperer.Cli.Hosting;
using LogWhisperer.Observability;

namespace LogWhisperer.Tests;

/// <summary>The documented exit codes (docs/operations.md "Exit codes") and one-line errors for nonsense, as users meet
/// them.</summary>
[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public class CliExitCodeTests
{
    [Theory]
    [InlineData("invalid value -3 for --speed: expected a number ≥ 0", "demo", "--speed", "-3")]
    [InlineData("invalid value 0 for --warmup-minutes: expected a whole number ≥ 1", "demo", "--warmup-minutes", "0")]
    [InlineData("invalid value 0 for --fault-minutes: expected a whole number ≥ 1", "demo", "--fault-minutes", "0")]
    [InlineData("invalid value 0 for --incidents: expected a whole number ≥ 1", "eval", "--incidents", "0")]
    [InlineData(
        "invalid value 2 for --concurrent: expected a number from 0 to 1",
        "chaos",
        "run",
        "--concurrent",
        "2",
        "--out",
        "/tmp/never"
    )]
    [InlineData("Unrecognized command or argument '--url'", "gateway", "--url", "http://127.0.0.1:3100")]
    [InlineData(
        "invalid value '0' for setting 'Host:ShutdownTimeoutSeconds' (--shutdown-timeout)",
        "engine",
        "-b",
        "127.0.0.1:9",
        "--shutdown-timeout",
        "0"
    )]
    [InlineData(
        "--validation-topology none validates on one held-out cluster per topology: it needs --clusters 2 or more",
        "train",
        "--validation-topology",
        "none",
        "--clusters",
        "1"
    )]
    public void NonsenseIsRefusedWithExitCode2AndOneLine(string message, params string[] args)
    {
        var (exit, stdout, stderr) = CliTests.Run(args);
        Assert.Equal(2, exit);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, stderr);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(message, lines[0]);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void ADemoWhoseVerdictIsNotTheInjectedServiceExitsWith1()
    {
        // One minute of warm-up is two windows, fewer than the engine's six warm-up windows: it cannot name anything.
        var (exit, _, stderr) = CliTests.Run("demo", "--warmup-minutes", "1", "--fault-minutes", "1");
        Assert.True(exit == 1, stderr);
        Assert.Contains("detected : no RCA event was emitted during the fault", stderr);
    }

    [Fact]
    public void ConfigShowListsTheTopicsTheEngineReads()
    {
        var (exit, shown, stderr) = CliTests.Run("config", "show");
        Assert.True(exit == 0, stderr);
        var topics = shown.Split('\n').Single(l => l.StartsWith("Kafka:InputTopics = "));
        Assert.DoesNotContain("(empty)", topics); // before: "(empty)" while the engine read five topics
        foreach (var (topic, format) in LogWhisperer.Kafka.KafkaSettings.DefaultInputTopics)
            Assert.Contains($"{topic}={format}", topics);
        // What the gateway writes by default, the engine reads by default.
        var gateway = new LogWhisperer.Cli.Gateway.GatewayOptions
        {
            Kafka = new LogWhisperer.Kafka.KafkaSettings { BootstrapServers = "x" },
        };
        foreach (
            var topic in new[]
            {
                gateway.LokiJsonTopic,
                gateway.LokiProtoTopic,
                gateway.RemoteWriteTopic,
                gateway.OtlpJsonTopic,
                gateway.OtlpProtoTopic,
                gateway.OtlpMetricsJsonTopic,
                gateway.OtlpMetricsProtoTopic,
            }
        )
            Assert.Contains(topic + "=", topics);
    }

    [Fact]
    public async Task LongRunsReportProgressOnStderr()
    {
        var err = new StringWriter();
        var metrics = new EngineMetrics();
        await using (new ProgressReporter(metrics, TextWriter.Synchronized(err), TimeSpan.FromMilliseconds(20)))
        {
            await TestData.WaitUntilAsync(() => err.ToString().Contains("progress: "), TestData.Generous);
        }
        Assert.Contains("progress: ", err.ToString());
    }
}
