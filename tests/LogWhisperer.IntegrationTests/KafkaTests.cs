using System.Diagnostics;
using System.Text;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Evaluation;
using LogWhisperer.Explain;
using LogWhisperer.Hosting;
using LogWhisperer.Kafka;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

/// <summary>One librdkafka mock cluster (real Kafka protocol over local TCP) shared by the Kafka tests.</summary>
public sealed class MockClusterFixture : IDisposable
{
    public MockKafkaCluster Cluster { get; } = new(brokers: 3);

    public void Dispose() => Cluster.Dispose();
}

/// <summary>kcat, the independent Kafka client the tests produce and consume with.</summary>
internal static class Kcat
{
    public static string Run(string bootstrap, string args, string? stdin = null)
    {
        var psi = new ProcessStartInfo("/bin/sh", ["-c", $"kcat -b {bootstrap} {args}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("kcat did not start");
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill();
            throw new TimeoutException($"kcat {args} did not finish");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"kcat {args} exited {p.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    /// <summary>Every message of a topic, one line each: key, headers, value.</summary>
    public static List<(string Key, string Headers, string Value)> ReadAll(string bootstrap, string topic) =>
        Run(bootstrap, $"-C -t {topic} -e -q -f '%k\\t%h\\t%s\\n'")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t', 3))
            .Select(p => (p[0], p[1], p.Length > 2 ? p[2] : ""))
            .ToList();
}

public class KafkaTests(MockClusterFixture fixture) : IClassFixture<MockClusterFixture>
{
    private static readonly Lazy<GatScorer> Shipped = new(() =>
        new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU)
    );
    private static readonly long T0 = new SimulationOptions().StartMs;
    private string Bootstrap => fixture.Cluster.BootstrapServers;

    private KafkaSettings Settings(string prefix, KafkaTelemetryProducer.Topics? topics = null)
    {
        topics ??= new KafkaTelemetryProducer.Topics($"{prefix}_logs", $"{prefix}_metrics", $"{prefix}_spans");
        return new KafkaSettings
        {
            BootstrapServers = Bootstrap,
            GroupId = prefix + "-engine",
            InputTopics = new Dictionary<string, TelemetryFormat>
            {
                [topics.Logs] = TelemetryFormat.LokiProto,
                [topics.Metrics] = TelemetryFormat.RemoteWrite,
                [topics.Spans] = TelemetryFormat.OtlpTracesProto,
            },
            OutputTopic = prefix + "_rca",
            DeadLetterTopic = prefix + "_dlq",
            StopWhenIdle = TimeSpan.FromSeconds(2),
            // Restarts rejoin the group sooner (a killed member is noticed after the session timeout).
            ClientConfig = new Dictionary<string, string>
            {
                ["session.timeout.ms"] = "6000",
                ["heartbeat.interval.ms"] = "500",
            },
        };
    }

    private Task<long> ProduceSimulation(KafkaSettings settings, Fault fault, long endMs, int seed = 21)
    {
        var topics = settings.InputTopics.ToDictionary(t => t.Value, t => t.Key);
        var sim = new ChaosSimulator(
            TestData.OnlineBoutique(),
            new SimulationOptions { Cluster = "ob", Seed = seed },
            [fault]
        );
        // One mesh for one engine, spread over all partitions: the mock brokers keep a bounded log per partition.
        using var producer = new KafkaTelemetryProducer(
            settings,
            new(
                topics[TelemetryFormat.LokiProto],
                topics[TelemetryFormat.RemoteWrite],
                topics[TelemetryFormat.OtlpTracesProto]
            ),
            KafkaTelemetryProducer.Keying.Service
        );
        long records = 0;
        while (sim.NowMs < endMs)
        {
            var batch = sim.NextSecond();
            records += batch.Count;
            producer.Produce(batch);
        }
        producer.Flush();
        return Task.FromResult(records);
    }

    [Fact]
    public async Task SimulatorThroughKafkaFindsTheFaultAndPublishesCloudEvents()
    {
        var settings = Settings("e2e");
        var fault = new Fault("cartservice", FaultKind.Errors, T0 + 6 * 60_000, T0 + 9 * 60_000, 0.7);
        long produced = await ProduceSimulation(settings, fault, fault.EndMs + 60_000);

        using var metrics = new EngineMetrics();
        var result = await KafkaRun.RunAsync(
            settings,
            new DecodeOptions(),
            new PipelineOptions { Metrics = metrics },
            Shipped.Value
        );

        Assert.Equal(produced, result.Ingest.Records);
        Assert.Equal(0, result.Ingest.Undecodable);
        Assert.Equal(produced, result.Pipeline.Decode.RecordsIn);
        Assert.Equal(0, result.Pipeline.Counters.LateDropped); // partitions were merged by event time
        Assert.True(result.Ingest.Commits > 0);
        // /metrics: Kafka figures and per-partition lag from librdkafka's statistics (all read by the end).
        var exposition = MetricsTests.Samples(await MetricsTests.ScrapeAsync(metrics));
        Assert.Equal(result.Ingest.Messages, exposition["logwhisperer_kafka_messages_total"]);
        Assert.Equal(result.EventsPublished, exposition["logwhisperer_rca_events_total"]);
        var lags = metrics.ConsumerLag!();
        Assert.NotEmpty(lags);
        Assert.All(lags, l => Assert.Contains(l.Topic, settings.InputTopics.Keys));

        // Read back with an independent client.
        var messages = Kcat.ReadAll(Bootstrap, settings.OutputTopic);
        Assert.Equal(result.EventsPublished, messages.Count);
        Assert.NotEmpty(messages);
        Assert.All(
            messages,
            m =>
            {
                Assert.Equal("ob", m.Key);
                Assert.Contains("content-type=application/cloudevents+json", m.Headers);
                Assert.Contains("schema-version=logwhisperer.rca/v1", m.Headers);
            }
        );
        var events = messages.Select(m => KafkaRcaSink.FromCloudEvent(Encoding.UTF8.GetBytes(m.Value))).ToList();
        var report = EvaluationReport.Score([fault], events, 0);
        Assert.Equal(1, report.Incidents[0].Rank);
        using var doc = System.Text.Json.JsonDocument.Parse(messages[0].Value);
        Assert.Equal("1.0", doc.RootElement.GetProperty("specversion").GetString());
        Assert.Equal(KafkaRcaSink.CloudEventType, doc.RootElement.GetProperty("type").GetString());
        Assert.Equal(events[0].Id, doc.RootElement.GetProperty("id").GetString());

        // Every offset was committed once the stream drained: the same group restarted finds nothing to redo.
        var again = await KafkaRun.RunAsync(settings, new DecodeOptions(), new PipelineOptions(), Shipped.Value);
        Assert.Equal(0, again.Ingest.Records);
        Assert.Equal(0, again.EventsPublished);
    }

    [Fact]
    public async Task UndecodableMessagesGoToTheDeadLetterTopicWithReasonAndOffset()
    {
        var settings = Settings("dlq") with
        {
            InputTopics = new Dictionary<string, TelemetryFormat>
            {
                ["dlq_loki_json"] = TelemetryFormat.LokiJson,
                ["dlq_rw"] = TelemetryFormat.RemoteWrite,
            },
        };
        // kcat as the independent producer: two good Loki pushes around a broken one, and a remote-write body that is
        // not snappy.
        Kcat.Run(
            Bootstrap,
            "-P -t dlq_loki_json -k k1",
            string.Join(
                '\n',
                """{"streams":[{"stream":{"app":"cart"},"values":[["1767225600000000000","ok one"]]}]}""",
                """{"streams":[{"stream":{"app":"cart"},"values":[["1767225601000000000",""",
                """{"streams":[{"stream":{"app":"cart"},"values":[["1767225602000000000","ok two"],["1767225603000000000","ok three"]]}]}"""
            )
        );
        var file = Path.Combine(TestData.TempDir(), "rw.bin");
        File.WriteAllBytes(file, [0xFF, 0x01, 0x02, 0x03]); // declares 255 bytes, holds garbage
        Kcat.Run(Bootstrap, $"-P -t dlq_rw {file}");

        using var deadLetters = new KafkaDeadLetterSink(settings);
        using var source = new KafkaTelemetrySource(
            settings,
            new DecodeOptions(),
            deadLetters,
            new LogWhisperer.Windowing.WindowOptions()
        );
        var records = new List<TelemetryRecord>();
        await foreach (var batch in source.ReadAsync(CancellationToken.None))
            records.AddRange(batch);
        deadLetters.Flush(TimeSpan.FromSeconds(10));

        Assert.Equal(["ok one", "ok two", "ok three"], records.Cast<LogRecord>().Select(l => l.Message));
        Assert.Equal(2, source.Counters.Undecodable);
        Assert.Equal("undecodable 2", deadLetters.ByCode()); // the engine summary's breakdown
        var letters = Kcat.ReadAll(Bootstrap, settings.DeadLetterTopic).OrderBy(l => l.Headers).ToList();
        Assert.Equal(2, letters.Count);
        Assert.Contains("lw-source-topic=dlq_loki_json", letters[0].Headers);
        Assert.Contains("lw-source-offset=1", letters[0].Headers);
        Assert.Contains("lw-reason=loki push: malformed JSON", letters[0].Headers);
        Assert.Equal("k1", letters[0].Key);
        Assert.StartsWith(
            """{"streams":[{"stream":{"app":"cart"},"values":[["1767225601000000000",""",
            letters[0].Value
        ); // raw bytes kept
        Assert.Contains("lw-source-topic=dlq_rw", letters[1].Headers);
        Assert.Contains("lw-reason=snappy", letters[1].Headers);
    }

    [Fact]
    public async Task ACrashMidStreamNeitherLosesNorRepeatsEvents()
    {
        var fault = new Fault("paymentservice", FaultKind.Latency, T0 + 6 * 60_000, T0 + 9 * 60_000, 0.7);
        // Reference: one uninterrupted run.
        var reference = Settings("ref");
        await ProduceSimulation(reference, fault, fault.EndMs + 60_000, seed: 5);
        var uninterrupted = await KafkaRun.RunAsync(
            reference,
            new DecodeOptions(),
            new PipelineOptions(),
            Shipped.Value
        );
        var expected = Kcat.ReadAll(Bootstrap, reference.OutputTopic)
            .Select(m => KafkaRcaSink.FromCloudEvent(Encoding.UTF8.GetBytes(m.Value)).Id)
            .ToList();
        Assert.True(expected.Count >= 2, $"the reference run should publish several events, got {expected.Count}");

        // Same input; the engine is killed (abort: nothing drains, nothing flushes) right after its first event.
        // The commit lag makes the restart re-read enough input to rebuild every baseline exactly.
        var crashing = Settings("crash") with
        {
            CommitLag = TimeSpan.FromHours(1),
        };
        await ProduceSimulation(crashing, fault, fault.EndMs + 60_000, seed: 5);
        using var abort = new CancellationTokenSource();
        try
        {
            await KafkaRun.RunAsync(
                crashing,
                new DecodeOptions(),
                new PipelineOptions(),
                Shipped.Value,
                abort: abort.Token,
                alsoTo: sink => new AbortAfterFirst(sink, abort)
            );
        }
        catch (OperationCanceledException) { }
        int afterCrash = Kcat.ReadAll(Bootstrap, crashing.OutputTopic).Count;
        Assert.InRange(afterCrash, 1, expected.Count - 1);

        var restarted = await KafkaRun.RunAsync(crashing, new DecodeOptions(), new PipelineOptions(), Shipped.Value);
        var published = Kcat.ReadAll(Bootstrap, crashing.OutputTopic)
            .Select(m => KafkaRcaSink.FromCloudEvent(Encoding.UTF8.GetBytes(m.Value)).Id)
            .ToList();
        Assert.Equal(expected, published);
        Assert.Equal(afterCrash, restarted.EventsAlreadyPublished);
        Assert.Equal(expected.Count - afterCrash, restarted.EventsPublished);
    }

    /// <summary>Kills the run (abort token) as soon as its first event is durably published.</summary>
    private sealed class AbortAfterFirst(IRcaSink inner, CancellationTokenSource abort) : IRcaSink
    {
        public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
        {
            await inner.WriteAsync(rca, cancellationToken);
            abort.Cancel();
        }
    }
}
