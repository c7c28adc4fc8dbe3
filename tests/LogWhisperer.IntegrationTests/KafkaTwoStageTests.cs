using System.Text;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Explain;
using LogWhisperer.Hosting;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Windowing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

/// <summary>The two-stage topology on the mock cluster against the single-stage engine over the same input.</summary>
[Collection(SeveralEnginesCollection.Name)]
public class KafkaTwoStageTests(MockClusterFixture fixture, ITestOutputHelper output)
    : IClassFixture<MockClusterFixture>
{
    private static readonly Lazy<GatScorer> Shipped = new(() =>
        new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU)
    );
    private static readonly long T0 = new SimulationOptions().StartMs;
    private const int Partitions = 4;

    private KafkaSettings Settings(string prefix, string group) =>
        new()
        {
            BootstrapServers = fixture.Cluster.BootstrapServers,
            GroupId = $"{prefix}-{group}",
            InputTopics = new Dictionary<string, TelemetryFormat>
            {
                [prefix + "_logs"] = TelemetryFormat.LokiProto,
                [prefix + "_metrics"] = TelemetryFormat.RemoteWrite,
                [prefix + "_spans"] = TelemetryFormat.OtlpTracesProto,
            },
            OutputTopic = $"{prefix}_{group}_rca",
            DeadLetterTopic = $"{prefix}_{group}_dlq",
            ServiceWindowsTopic = $"{prefix}_service_windows",
            StopWhenIdle = TimeSpan.FromSeconds(3),
            // Window-stage members that join apart rebalance, and replay from the committed offsets: the lag covers
            // the whole (short) stream so the replay rebuilds the same Drain template ids.
            CommitLag = TimeSpan.FromMinutes(60),
            ClientConfig = new Dictionary<string, string>
            {
                ["session.timeout.ms"] = "6000",
                ["heartbeat.interval.ms"] = "500",
            },
        };

    private List<RcaEvent> Published(string topic) =>
        Kcat.ReadAll(fixture.Cluster.BootstrapServers, topic)
            .Select(m => KafkaRcaSink.FromCloudEvent(Encoding.UTF8.GetBytes(m.Value)))
            .ToList();

    [Fact]
    public async Task TwoWindowEnginesAndAScoringEnginePublishTheSingleStageEvents()
    {
        const string prefix = "twostage";
        var input = Settings(prefix, "window");
        foreach (var topic in input.InputTopics.Keys)
            fixture.Cluster.CreateTopic(topic, Partitions);
        fixture.Cluster.CreateTopic(input.ServiceWindowsTopic, Partitions);

        // One mesh, one incident, its telemetry keyed by service: a cluster's services spread over the partitions.
        var sim = new ChaosSimulator(
            TestData.OnlineBoutique(),
            new SimulationOptions
            {
                Cluster = "boutique",
                Seed = 11,
                LoadFactor = 0.4,
            },
            [new Fault("paymentservice", FaultKind.Errors, T0 + 6 * 60_000, T0 + 8 * 60_000, 0.7)]
        );
        long produced = 0;
        using (
            var producer = new KafkaTelemetryProducer(
                input,
                new(prefix + "_logs", prefix + "_metrics", prefix + "_spans"),
                KafkaTelemetryProducer.Keying.Service
            )
        )
        {
            while (sim.NowMs < T0 + 9 * 60_000)
            {
                var batch = sim.NextSecond();
                produced += batch.Count;
                producer.Produce(batch);
            }
            producer.Flush();
        }

        var reference = Settings(prefix, "single");
        var single = await KafkaRun.RunAsync(reference, new DecodeOptions(), new PipelineOptions(), Shipped.Value);
        Assert.Equal(produced, single.Ingest.Records);
        var expected = Published(reference.OutputTopic);
        Assert.True(expected.Count >= 2, $"the single-stage run should publish several events, got {expected.Count}");

        // Window stage: two engines of one group sharing the input partitions, one a child process (the CLI's
        // `engine --stage window`), one in process; the child joins first, the other's joining rebalances the group.
        using (
            var child = new EngineProcess(
                input,
                commitLagMinutes: 60,
                idleExitSeconds: 3,
                "--stage",
                "window",
                "--service-windows-topic",
                input.ServiceWindowsTopic
            )
        )
        {
            Assert.True(
                child.WaitFor(l => l.Contains("partition(s) assigned"), TimeSpan.FromMinutes(2)) is not null,
                child.Log
            );
            var inProcess = await KafkaTwoStageRun.RunWindowStageAsync(
                input,
                new DecodeOptions(),
                new PipelineOptions()
            );
            Assert.Equal(0, child.WaitForExit(TimeSpan.FromMinutes(4)));
            output.WriteLine($"--- window engine (child process)\n{child.Log}");
            output.WriteLine(
                $"window engine (in process): {inProcess.Ingest.Records:N0} record(s) read, "
                    + $"{inProcess.PartsWritten} part(s) written, {inProcess.Rebalances} rebalance(s)"
            );
            Assert.True(inProcess.PartsWritten > 0, "the in-process window engine should own services");
            Assert.True(
                child.CountLines(l => l.Contains("parts    :") && !l.Contains(": 0 written")) == 1,
                "the child window engine should have written parts"
            );
            Assert.Equal(0, inProcess.Pipeline.Counters.LateDropped);
        }

        // Scoring stage: every window waits for all its parts (here the stream's end closes them: the two window
        // engines wrote at their own pace, so only the end of the stream says a window has all its parts).
        var scoring = Settings(prefix, "score");
        var stage2 = await KafkaTwoStageRun.RunScoreStageAsync(
            scoring,
            new PipelineOptions(),
            Shipped.Value,
            new ServiceWindowAssemblyOptions { Grace = TimeSpan.FromHours(1), Timeout = TimeSpan.FromMinutes(10) }
        );
        var a = stage2.Assembly;
        output.WriteLine(
            $"scoring engine: {a.Parts} part(s), {a.Windows} window(s), "
                + $"{a.Duplicates} duplicate(s), {a.LateDropped} late; {stage2.EventsPublished} event(s)"
        );
        Assert.Equal(0, a.LateDropped);
        Assert.Equal(0, stage2.DeadLetters);

        var actual = Published(scoring.OutputTopic);
        foreach (var e in expected)
            output.WriteLine(
                $"  single {e.Id}: {e.Candidates[0].Service} {e.Candidates[0].Score:F6} {e.FaultType.Kind}"
            );
        foreach (var e in actual)
            output.WriteLine(
                $"  two-stage {e.Id}: {e.Candidates[0].Service} {e.Candidates[0].Score:F6} {e.FaultType.Kind}"
            );
        Assert.Equal(expected.Select(e => e.Id), actual.Select(e => e.Id)); // same windows, in order, none twice
        foreach (var (r, e) in expected.Zip(actual))
        {
            Assert.Equal(r.Candidates[0].Service, e.Candidates[0].Service);
            Assert.Equal(r.FaultType.Kind, e.FaultType.Kind);
            // Known gap (docs/real-incidents.md): trace evidence needs whole traces, and with the input keyed by
            // service each window engine sees only the spans of the services it owns, so the two-stage trace
            // features are computed from partial traces. Verdicts agree; probabilities within a few hundredths.
            // (Node order differs too: the merged window lists services by name, the GAT is permutation-equivariant.)
            Assert.Equal(r.IncidentProbability, e.IncidentProbability, 0.03);
            var scores = r.Candidates.ToDictionary(c => c.Service, c => c.Score);
            foreach (var c in e.Candidates.Where(c => scores.ContainsKey(c.Service)))
                Assert.Equal(scores[c.Service], c.Score, 0.03);
        }
    }
}
