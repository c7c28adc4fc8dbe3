using LogWhisperer.Features;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Simulation;
using LogWhisperer.Windowing;

namespace LogWhisperer.Tests;

/// <summary>The two-stage topology's parts: per-service window records, their encoding and their reassembly.</summary>
public class ServiceWindowTests
{
    private static readonly long T0 = new SimulationOptions().StartMs;

    /// <summary>Closed windows of a simulated Online Boutique (with Istio metrics) whose cart service fails from minute
    /// 3.</summary>
    private static List<WindowAggregate> SimulatedWindows(int minutes = 5)
    {
        var sim = new ChaosSimulator(
            TestData.OnlineBoutique(),
            new SimulationOptions
            {
                Cluster = "ob",
                Seed = 7,
                LoadFactor = 0.3,
                IstioMetrics = true,
            },
            [new Fault("cartservice", FaultKind.Errors, T0 + 180_000, T0 + 300_000, 0.8)]
        );
        var windower = new EventTimeWindower(new WindowOptions(), new PipelineCounters(), new MemoryDeadLetterSink());
        var closed = new List<WindowAggregate>();
        while (sim.NowMs < T0 + minutes * 60_000)
            windower.Add(sim.NextSecond(), closed);
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
            Assert.Equal(
                (part.Cluster, part.StartMs, part.EndMs, part.Service),
                (back.Cluster, back.StartMs, back.EndMs, back.Service)
            );
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
        Console.WriteLine(
            $"service window parts: {parts.Count}, "
                + $"mean {parts.Average(p => ServiceWindowCodec.Encode(p).Length):F0} bytes encoded"
        );
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
            var parts = ServiceWindow
                .Split(window)
                .Select(p => ServiceWindowCodec.Decode(ServiceWindowCodec.Encode(p)))
                .Reverse();
            var whole = ServiceWindow.Merge(window.Cluster, window.StartMs, window.EndMs, parts);
            Assert.Equal(window.Edges.Keys.OrderBy(k => k), whole.Edges.Keys.OrderBy(k => k));
            var a = direct.Featurize(window);
            var b = merged.Featurize(whole);
            Assert.Equal(a.Warmup, b.Warmup);
            foreach (var service in a.Services)
            {
                int i = Array.IndexOf(a.Services, service),
                    j = Array.IndexOf(b.Services, service);
                Assert.Equal(a.Measurements.AsSpan(i * m, m).ToArray(), b.Measurements.AsSpan(j * m, m).ToArray());
                Assert.Equal(a.NewTemplates[i], b.NewTemplates[j]);
            }
        }
    }

    [Theory]
    [InlineData(0)] // empty
    [InlineData(7)] // truncated
    public void TruncatedOrForeignBytesAreRejectedAsInvalidData(int keep)
    {
        var bytes = ServiceWindowCodec.Encode(ServiceWindow.Split(SimulatedWindows(1)[0])[0]);
        Assert.Throws<InvalidDataException>(() => ServiceWindowCodec.Decode(bytes.AsSpan(0, keep)));
        var other = (byte[])bytes.Clone();
        other[0] = 99; // an unknown version
        Assert.Contains(
            "version 99",
            Assert.Throws<InvalidDataException>(() => ServiceWindowCodec.Decode(other)).Message
        );
        Assert.Throws<InvalidDataException>(() => ServiceWindowCodec.Decode([.. bytes, 0])); // trailing bytes
    }

    private static ServiceWindow Part(string service, long window, string cluster = "c") =>
        new(
            cluster,
            window * 30_000,
            window * 30_000 + 30_000,
            service,
            new ServiceWindowStats { Logs = 1 },
            new Dictionary<string, EdgeWindowStats>()
        );

    [Fact]
    public void AWindowClosesOnceEveryExpectedServiceArrived()
    {
        var assembler = new ServiceWindowAssembler(
            new ServiceWindowAssemblyOptions { Grace = TimeSpan.FromMinutes(10), Timeout = TimeSpan.FromHours(1) }
        );
        var closed = new List<WindowAggregate>();
        // The first window has nothing to expect: it waits (here: for the timeout).
        assembler.Add(Part("a", 0), 0, closed);
        assembler.Add(Part("b", 0), 0, closed);
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
        var assembler = new ServiceWindowAssembler(
            new ServiceWindowAssemblyOptions { Grace = TimeSpan.FromSeconds(60), Timeout = TimeSpan.FromHours(1) }
        );
        var closed = new List<WindowAggregate>();
        assembler.Add(Part("a", 0), 0, closed);
        assembler.Add(Part("b", 0), 0, closed);
        assembler.Add(Part("a", 1), 0, closed);
        Assert.Empty(closed); // window 1 ends only 30 s after window 0
        assembler.Add(Part("a", 2), 0, closed);
        Assert.Equal([0L], closed.Select(w => w.StartMs)); // window 2 ends 60 s after window 0: window 0 is closed
        assembler.Add(Part("a", 3), 0, closed);
        Assert.Equal([0L, 30_000], closed.Select(w => w.StartMs)); // window 1 never got b: closed by the watermark too
        Assert.Equal(["a"], closed[1].Services.Keys);
        Assert.False(assembler.Add(Part("b", 1), 0, closed)); // too late
        Assert.False(assembler.Add(Part("a", 3), 0, closed)); // a replayed part
        Assert.Equal(
            (2L, 0L, 1L, 1L),
            (
                assembler.Counters.ClosedByWatermark,
                assembler.Counters.ClosedComplete,
                assembler.Counters.LateDropped,
                assembler.Counters.Duplicates
            )
        );
        assembler.Flush(closed);
        Assert.Equal([0L, 30_000, 60_000, 90_000], closed.Select(w => w.StartMs));
    }

    [Fact]
    public void ClustersAreAssembledIndependently()
    {
        var assembler = new ServiceWindowAssembler(
            new ServiceWindowAssemblyOptions { Grace = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromHours(1) }
        );
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
