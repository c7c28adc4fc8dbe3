using LogWhisperer.Features.Metrics;
using LogWhisperer.Features.Traces;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

public class MetricAndTraceFeatureTests
{
    [Fact]
    public void HistogramQuantileInterpolatesInsideTheBucketLikePromQL()
    {
        // 100 observations: 50 ≤ 10 ms, 90 ≤ 50 ms, 100 ≤ 100 ms.
        (double, double)[] buckets = [(10, 50), (50, 90), (100, 100), (double.PositiveInfinity, 100)];
        Assert.Equal(10, HistogramQuantile.Compute(0.5, buckets), 6);
        Assert.Equal(30, HistogramQuantile.Compute(0.7, buckets), 6); // rank 70: halfway through 10..50
        Assert.Equal(75, HistogramQuantile.Compute(0.95, buckets), 6); // rank 95: halfway through 50..100
        // A rank in the +Inf bucket gives the highest finite bound; no observations give NaN.
        Assert.Equal(100, HistogramQuantile.Compute(0.99, [(10, 50), (100, 90), (double.PositiveInfinity, 100)]), 6);
        Assert.True(double.IsNaN(HistogramQuantile.Compute(0.5, [(10, 0), (double.PositiveInfinity, 0)])));
    }

    [Fact]
    public void HistogramQuantilePerSeriesGroupsByLabelsOtherThanLe()
    {
        MetricSample Bucket(string dest, string le, double v) =>
            new(
                1000,
                "c",
                "frontend",
                "istio_request_duration_milliseconds_bucket",
                v,
                new Dictionary<string, string> { ["destination_workload"] = dest, ["le"] = le }
            );
        var q = HistogramQuantile.PerSeries(
            [
                Bucket("cart", "10", 80),
                Bucket("cart", "100", 100),
                Bucket("cart", "+Inf", 100),
                Bucket("ads", "10", 0),
                Bucket("ads", "100", 10),
                Bucket("ads", "+Inf", 10),
            ],
            "istio_request_duration_milliseconds_bucket",
            0.9
        );
        Assert.Equal(55, q["frontend{destination_workload=cart}"], 6); // rank 90: half of 10..100
        Assert.Equal(91, q["frontend{destination_workload=ads}"], 6); // rank 9: 0.9 of 10..100
    }

    [Fact]
    public void CounterRateHandlesResets()
    {
        var c = new CounterRate();
        Assert.True(double.IsNaN(c.AddRate(0, 100)));
        Assert.Equal(2, c.AddRate(5000, 110), 6); // +10 over 5 s
        Assert.Equal(0.6, c.AddRate(10_000, 3), 6); // restarted: the counter's 3 are new, not −107
        Assert.Equal(1, c.Resets);
        Assert.Equal(0, c.Add(10_000, 3)); // a duplicate scrape adds nothing
    }

    [Fact]
    public void SilenceIsReportedAsMissingNotZero()
    {
        var p = new SeriesPresence(5000);
        p.Seen("cart/cpu", 0);
        p.Seen("ads/cpu", 0);
        p.Seen("ads/cpu", 20_000);
        Assert.Equal(4, p.MissedScrapes("cart/cpu", 20_000));
        Assert.True(p.IsMissing("cart/cpu", 20_000));
        Assert.False(p.IsMissing("ads/cpu", 24_000));
        Assert.Equal(["cart/cpu"], p.Missing(24_000));
        Assert.True(double.IsNaN(p.MissedScrapes("never", 0)));
    }

    [Fact]
    public void SaturationSignalsAreRatiosAndUnknownWithoutInputs()
    {
        Assert.Equal(0.25, SaturationSignals.CpuThrottling(25, 100), 6);
        Assert.Equal(0.9, SaturationSignals.MemoryVsLimit(900, 1000), 6);
        Assert.Equal(1.5, SaturationSignals.CpuVsLimit(0.75, 0.5), 6);
        Assert.True(double.IsNaN(SaturationSignals.MemoryVsLimit(900, 0)));
        Assert.True(double.IsNaN(SaturationSignals.CpuThrottling(1, 0)));
    }

    // frontend (0..100 ms) calls cart (10..40, which calls redis 15..35) and then ads (50..90).
    private static readonly SpanRecord[] Trace =
    [
        new(0, "c", "frontend", "t1", "a", null, "GET /", SpanKind.Server, null, 100, false),
        new(10, "c", "frontend", "t1", "b", "a", "GetCart", SpanKind.Client, "cart", 30, false),
        new(10, "c", "cart", "t1", "c", "b", "GetCart", SpanKind.Server, null, 30, false),
        new(15, "c", "cart", "t1", "d", "c", "HGET", SpanKind.Client, "redis", 20, false),
        new(15, "c", "redis", "t1", "e", "d", "HGET", SpanKind.Server, null, 20, false),
        new(50, "c", "frontend", "t1", "f", "a", "GetAds", SpanKind.Client, "ads", 40, true),
        new(50, "c", "ads", "t1", "g", "f", "GetAds", SpanKind.Server, null, 40, true),
    ];

    [Fact]
    public void CriticalPathSharesAddUpToTheTraceAndFollowTheCalls()
    {
        var w = TraceWindowEncoder.Encode(Trace);
        Assert.Equal(0.30, w.CriticalPathShare["frontend"], 6); // 0..10, 40..50, 90..100
        Assert.Equal(0.10, w.CriticalPathShare["cart"], 6); // 10..15, 35..40
        Assert.Equal(0.20, w.CriticalPathShare["redis"], 6);
        Assert.Equal(0.40, w.CriticalPathShare["ads"], 6);
        Assert.Equal(1.0, w.Services["ads"].ErrorRatio);
        Assert.Equal(40, w.Edges[("frontend", "ads")].P50Ms);
        Assert.Equal(new Dictionary<string, int> { ["frontend>cart>redis"] = 1, ["frontend>ads"] = 1 }, w.CallPaths);
    }

    [Fact]
    public void CallPathNoveltyFlagsANewPath()
    {
        var normal = TraceWindowEncoder.Encode(Trace);
        var novelty = new CallPathNovelty();
        novelty.AddNormal(normal);
        Assert.Equal(0, novelty.Measure(normal).Distance, 6);
        // The cart can no longer reach redis and falls back to a new dependency.
        var changed = Trace.Select(s => s.Service == "redis" ? s with { Service = "memcached" } : s).ToArray();
        var (distance, unseen) = novelty.Measure(TraceWindowEncoder.Encode(changed));
        Assert.Equal(0.5, unseen, 6);
        Assert.True(distance > 0.1, $"distance {distance:F3}");
    }
}
