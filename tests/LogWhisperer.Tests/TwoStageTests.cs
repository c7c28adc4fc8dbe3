using System.Text;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Explain;
using LogWhisperer.Features;
using LogWhisperer.Hosting;
using LogWhisperer.Kafka;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Windowing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

/// <summary>The two-stage topology's parts: per-service window records, their encoding and their reassembly.</summary>
public class ServiceWindowTests
{
    private static readonly long T0 = new SimulationOptions().StartMs;

    /// <summary>Closed windows of a simulated Online Boutique (with Istio metrics) whose cart service fails from minute 3.</summary>
    private static List<WindowAggregate> SimulatedWindows(int minutes = 5)
    {
        var sim = new ChaosSimulator(TestData.OnlineBoutique(), new SimulationOptions { Cluster = "ob", Seed = 7, LoadFactor = 0.3, IstioMetrics = true },
            [new Fault("cartservice", FaultKind.Errors, T0 + 180_000, T0 + 300_000, 0.8)]);
        var windower = new EventTimeWindower(new WindowOptions(), new PipelineCounters(), new MemoryDeadLetterSink());
        var closed = new List<WindowAggregate>();
        while (sim.NowMs < T0 + minutes * 60_000) windower.Add(sim.NextSecond(), closed);
        windower.Flush(closed);
        return closed;
    }

    [Fact]
    public void AServiceWindowRoundTripsExactlyThroughItsEncoding()
    {
        var windows = SimulatedWindows();
        var parts = windows.SelectMany(ServiceWindow.Split).ToList();
        Assert.Contains(parts, p => p.Stats.Mesh is { Requests.Count: > 0, DurationBuckets.Count: > 0 });
        Assert.Contains(parts, p => p.Calls.Count > 0 && p.Stats.Templates.Count > 0 && p.Stats.Latency.Count > 0);
        foreach (var part in parts)
        {
            var bytes = ServiceWindowCodec.Encode(part);
            var back = ServiceWindowCodec.Decode(bytes);
            Assert.Equal(bytes, ServiceWindowCodec.Encode(back)); // every encoded field came back (fixpoint)
            Assert.Equal((part.Cluster, part.StartMs, part.EndMs, part.Service), (back.Cluster, back.StartMs, back.EndMs, back.Service));
            // Sketch state is bucket counts: identical counts give identical quantiles.
            Assert.True(part.Stats.Latency.BucketCounts.SequenceEqual(back.Stats.Latency.BucketCounts));
            Assert.True(part.Stats.SelfTime.BucketCounts.SequenceEqual(back.Stats.SelfTime.BucketCounts));
            Assert.Equal(part.Stats.Latency.Count, back.Stats.Latency.Count);
            Assert.Equal(part.Stats.Latency.Quantile(0.95), back.Stats.Latency.Quantile(0.95));
            Assert.Equal(part.Stats.CpuFirst, back.Stats.CpuFirst); // NaN when there was none: Equal treats NaN as NaN
            Assert.Equal(part.Stats.Templates, back.Stats.Templates);
            foreach (var (to, edge) in part.Calls)
                Assert.True(edge.Latency.BucketCounts.SequenceEqual(back.Calls[to].Latency.BucketCounts));
        }
        Console.WriteLine($"service window parts: {parts.Count}, mean {parts.Average(p => ServiceWindowCodec.Encode(p).Length):F0} bytes encoded");
    }

    [Fact]
    public void WindowsSplitPerServiceEncodedAndMergedFeaturizeLikeTheOriginals()
    {
        var windows = SimulatedWindows();
        var direct = new Featurizer(new FeaturizerOptions());
        var merged = new Featurizer(new FeaturizerOptions());
        int m = FeatureSchema.MeasurementCount;
        foreach (var window in windows)
        {
            // Parts in another order than the records came: reassembly must not depend on it.
            var parts = ServiceWindow.Split(window).Select(p => ServiceWindowCodec.Decode(ServiceWindowCodec.Encode(p))).Reverse();
            var whole = ServiceWindow.Merge(window.Cluster, window.StartMs, window.EndMs, parts);
            Assert.Equal(window.Edges.Keys.OrderBy(k => k), whole.Edges.Keys.OrderBy(k => k));
            var a = direct.Featurize(window);
            var b = merged.Featurize(whole);
            Assert.Equal(a.Warmup, b.Warmup);
            foreach (var service in a.Services)
            {
                int i = Array.IndexOf(a.Services, service), j = Array.IndexOf(b.Services, service);
                Assert.Equal(a.Measurements.AsSpan(i * m, m).ToArray(), b.Measurements.AsSpan(j * m, m).ToArray());
                Assert.Equal(a.NewTemplates[i], b.NewTemplates[j]);
            }
        }
    }

    [Theory]
    [InlineData(0)]   // empty
    [InlineData(7)]   // truncated
    public void TruncatedOrForeignBytesAreRejectedAsInvalidData(int keep)
    {
        var bytes = ServiceWindowCodec.Encode(ServiceWindow.Split(SimulatedWindows(1)[0])[0]);
        Assert.Throws<InvalidDataException>(() => ServiceWindowCodec.Decode(bytes.AsSpan(0, keep)));
        var other = (byte[])bytes.Clone();
        other[0] = 99; // an unknown version
        Assert.Contains("version 99", Assert.Throws<InvalidDataException>(() => ServiceWindowCodec.Decode(other)).Message);
        Assert.Throws<InvalidDataException>(() => ServiceWindowCodec.Decode([.. bytes, 0])); // trailing bytes
    }

    private static ServiceWindow Part(string service, long window, string cluster = "c") =>
        new(cluster, window * 30_000, window * 30_000 + 30_000, service, new ServiceWindowStats { Logs = 1 }, new Dictionary<string, EdgeWindowStats>());

    [Fact]
    public void AWindowClosesOnceEveryExpectedServiceArrived()
    {
        var assembler = new ServiceWindowAssembler(new ServiceWindowAssemblyOptions { Grace = TimeSpan.FromMinutes(10), Timeout = TimeSpan.FromHours(1) });
        var closed = new List<WindowAggregate>();
        // The first window has nothing to expect: it waits (here: for the timeout).
        assembler.Add(Part("a", 0), 0, closed); assembler.Add(Part("b", 0), 0, closed);
        Assert.Empty(closed);
        assembler.Tick(3_600_000, closed);
        Assert.Equal(["a", "b"], closed.Single().Services.Keys.Order());
        closed.Clear();
        // Then a window is complete once a and b arrived, in any order, whatever else comes.
        assembler.Add(Part("b", 1), 3_600_001, closed);
        Assert.Empty(closed);
        assembler.Add(Part("a", 2), 3_600_002, closed); // the next window's part: window 1 still misses a
        Assert.Empty(closed);
        assembler.Add(Part("a", 1), 3_600_003, closed);
        Assert.Equal([30_000L], closed.Select(w => w.StartMs));
        Assert.Equal(1, assembler.Counters.ClosedComplete);
        Assert.Equal(1, assembler.OpenWindows);
    }

    [Fact]
    public void AnIncompleteWindowClosesByTheEventTimeWatermarkAndItsLatePartsAreDroppedAndCounted()
    {
        var assembler = new ServiceWindowAssembler(new ServiceWindowAssemblyOptions { Grace = TimeSpan.FromSeconds(60), Timeout = TimeSpan.FromHours(1) });
        var closed = new List<WindowAggregate>();
        assembler.Add(Part("a", 0), 0, closed); assembler.Add(Part("b", 0), 0, closed);
        assembler.Add(Part("a", 1), 0, closed);
        Assert.Empty(closed); // window 1 ends only 30 s after window 0
        assembler.Add(Part("a", 2), 0, closed);
        Assert.Equal([0L], closed.Select(w => w.StartMs)); // window 2 ends 60 s after window 0: window 0 is closed
        assembler.Add(Part("a", 3), 0, closed);
        Assert.Equal([0L, 30_000], closed.Select(w => w.StartMs)); // window 1 never got b: closed by the watermark too
        Assert.Equal(["a"], closed[1].Services.Keys);
        Assert.False(assembler.Add(Part("b", 1), 0, closed)); // too late
        Assert.False(assembler.Add(Part("a", 3), 0, closed)); // a replayed part
        Assert.Equal((2L, 0L, 1L, 1L), (assembler.Counters.ClosedByWatermark, assembler.Counters.ClosedComplete, assembler.Counters.LateDropped, assembler.Counters.Duplicates));
        assembler.Flush(closed);
        Assert.Equal([0L, 30_000, 60_000, 90_000], closed.Select(w => w.StartMs));
    }

    [Fact]
    public void ClustersAreAssembledIndependently()
    {
        var assembler = new ServiceWindowAssembler(new ServiceWindowAssemblyOptions { Grace = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromHours(1) });
        var closed = new List<WindowAggregate>();
        assembler.Add(Part("a", 0, "x"), 0, closed);
        assembler.Add(Part("a", 5, "y"), 0, closed); // far ahead in cluster y: no effect on x
        Assert.Empty(closed);
        assembler.Add(Part("a", 1, "x"), 0, closed);
        // x's window 0 by the watermark, then its window 1 complete (a was all window 0 had); y's stays open.
        Assert.Equal([("x", 0L), ("x", 30_000L)], closed.Select(w => (w.Cluster, w.StartMs)));
        Assert.Equal(1, assembler.OpenWindows);
    }
}

/// <summary>
/// Tests that run several engines at once (child processes included): run one after another, not beside each
/// other, so that on a small machine none of them starves the others' group joins and session timeouts.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SeveralEnginesCollection { public const string Name = "several engines"; }

/// <summary>The two-stage topology on the mock cluster against the single-stage engine over the same input.</summary>
[Collection(SeveralEnginesCollection.Name)]
public class KafkaTwoStageTests(MockClusterFixture fixture, ITestOutputHelper output) : IClassFixture<MockClusterFixture>
{
    private static readonly Lazy<GatScorer> Shipped = new(() => new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU));
    private static readonly long T0 = new SimulationOptions().StartMs;
    private const int Partitions = 4;

    private KafkaSettings Settings(string prefix, string group) => new()
    {
        BootstrapServers = fixture.Cluster.BootstrapServers,
        GroupId = $"{prefix}-{group}",
        InputTopics = new Dictionary<string, TelemetryFormat>
        {
            [prefix + "_logs"] = TelemetryFormat.LokiProto, [prefix + "_metrics"] = TelemetryFormat.RemoteWrite, [prefix + "_spans"] = TelemetryFormat.OtlpTracesProto,
        },
        OutputTopic = $"{prefix}_{group}_rca",
        DeadLetterTopic = $"{prefix}_{group}_dlq",
        ServiceWindowsTopic = $"{prefix}_service_windows",
        StopWhenIdle = TimeSpan.FromSeconds(3),
        // Window-stage members that join apart rebalance, and replay from the committed offsets: the lag covers
        // the whole (short) stream so the replay rebuilds the same Drain template ids.
        CommitLag = TimeSpan.FromMinutes(60),
        ClientConfig = new Dictionary<string, string> { ["session.timeout.ms"] = "6000", ["heartbeat.interval.ms"] = "500" },
    };

    private List<RcaEvent> Published(string topic) =>
        Kcat.ReadAll(fixture.Cluster.BootstrapServers, topic).Select(m => KafkaRcaSink.FromCloudEvent(Encoding.UTF8.GetBytes(m.Value))).ToList();

    [Fact]
    public async Task TwoWindowEnginesAndAScoringEnginePublishTheSingleStageEvents()
    {
        const string prefix = "twostage";
        var input = Settings(prefix, "window");
        foreach (var topic in input.InputTopics.Keys) fixture.Cluster.CreateTopic(topic, Partitions);
        fixture.Cluster.CreateTopic(input.ServiceWindowsTopic, Partitions);

        // One mesh, one incident, its telemetry keyed by service: a cluster's services spread over the partitions.
        var sim = new ChaosSimulator(TestData.OnlineBoutique(), new SimulationOptions { Cluster = "boutique", Seed = 11, LoadFactor = 0.4 },
            [new Fault("paymentservice", FaultKind.Errors, T0 + 6 * 60_000, T0 + 8 * 60_000, 0.7)]);
        long produced = 0;
        using (var producer = new KafkaTelemetryProducer(input, new(prefix + "_logs", prefix + "_metrics", prefix + "_spans"), KafkaTelemetryProducer.Keying.Service))
        {
            while (sim.NowMs < T0 + 9 * 60_000) { var batch = sim.NextSecond(); produced += batch.Count; producer.Produce(batch); }
            producer.Flush();
        }

        var reference = Settings(prefix, "single");
        var single = await KafkaRun.RunAsync(reference, new DecodeOptions(), new PipelineOptions(), Shipped.Value);
        Assert.Equal(produced, single.Ingest.Records);
        var expected = Published(reference.OutputTopic);
        Assert.True(expected.Count >= 2, $"the single-stage run should publish several events, got {expected.Count}");

        // Window stage: two engines of one group sharing the input partitions, one a child process (the CLI's
        // `engine --stage window`), one in process; the child joins first, the other's joining rebalances the group.
        using (var child = new EngineProcess(input, commitLagMinutes: 60, idleExitSeconds: 3, "--stage", "window", "--service-windows-topic", input.ServiceWindowsTopic))
        {
            Assert.True(child.WaitFor(l => l.Contains("partition(s) assigned"), TimeSpan.FromMinutes(2)) is not null, child.Log);
            var inProcess = await KafkaTwoStageRun.RunWindowStageAsync(input, new DecodeOptions(), new PipelineOptions());
            Assert.Equal(0, child.WaitForExit(TimeSpan.FromMinutes(4)));
            output.WriteLine($"--- window engine (child process)\n{child.Log}");
            output.WriteLine($"window engine (in process): {inProcess.Ingest.Records:N0} record(s) read, {inProcess.PartsWritten} part(s) written, {inProcess.Rebalances} rebalance(s)");
            Assert.True(inProcess.PartsWritten > 0, "the in-process window engine should own services");
            Assert.True(child.CountLines(l => l.Contains("parts    :") && !l.Contains(": 0 written")) == 1, "the child window engine should have written parts");
            Assert.Equal(0, inProcess.Pipeline.Counters.LateDropped);
        }

        // Scoring stage: every window waits for all its parts (here the stream's end closes them: the two window
        // engines wrote at their own pace, so only the end of the stream says a window has all its parts).
        var scoring = Settings(prefix, "score");
        var stage2 = await KafkaTwoStageRun.RunScoreStageAsync(scoring, new PipelineOptions(), Shipped.Value,
            new ServiceWindowAssemblyOptions { Grace = TimeSpan.FromHours(1), Timeout = TimeSpan.FromMinutes(10) });
        var a = stage2.Assembly;
        output.WriteLine($"scoring engine: {a.Parts} part(s), {a.Windows} window(s), {a.Duplicates} duplicate(s), {a.LateDropped} late; {stage2.EventsPublished} event(s)");
        Assert.Equal(0, a.LateDropped);
        Assert.Equal(0, stage2.DeadLetters);

        var actual = Published(scoring.OutputTopic);
        foreach (var e in expected) output.WriteLine($"  single {e.Id}: {e.Candidates[0].Service} {e.Candidates[0].Score:F6} {e.FaultType.Kind}");
        foreach (var e in actual) output.WriteLine($"  two-stage {e.Id}: {e.Candidates[0].Service} {e.Candidates[0].Score:F6} {e.FaultType.Kind}");
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
            foreach (var c in e.Candidates.Where(c => scores.ContainsKey(c.Service))) Assert.Equal(scores[c.Service], c.Score, 0.03);
        }
    }
}
