using LogWhisperer.Decode.Formats;
using LogWhisperer.Features;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;

namespace LogWhisperer.Tests;

/// <summary>
/// Istio request metrics arriving as Prometheus remote-write, scrape after scrape, become per-window request
/// rate, error ratio and latency quantiles of the destination service when it sends no spans.
/// </summary>
public class MeshHistogramTests
{
    private const long T0 = 1_767_225_600_000; // a window boundary
    private const long ScrapeMs = 10_000;
    private static readonly double[] Le = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

    /// <summary>One Envoy series of cartservice's sidecar: its caller, response code and requests per scrape
    /// interval.</summary>
    private sealed class SidecarSeries(string caller, int code, int perInterval)
    {
        public readonly long[] Buckets = new long[Le.Length + 1]; // non-cumulative, last = above the highest bound
        public long Count;
        public string Caller => caller;
        public int Code => code;
        public int PerInterval => perInterval;

        public void Observe(double ms)
        {
            int b = Array.FindIndex(Le, le => ms <= le);
            Buckets[b < 0 ? Le.Length : b]++;
            Count++;
        }

        public void Restart()
        {
            Array.Clear(Buckets);
            Count = 0;
        }
    }

    /// <summary>Uniform latencies: 5..45 ms for the first minute, then 200..500 ms.</summary>
    private static double Latency(long scrapeTs, int i, int n) =>
        scrapeTs - T0 < 60_000 ? 5 + 40.0 * i / n : 200 + 300.0 * i / n;

    private static byte[] RemoteWrite(long ts, IEnumerable<SidecarSeries> series)
    {
        static Pb Label(string n, string v) => new Pb().Str(1, n).Str(2, v);
        Pb Series(string name, SidecarSeries s, string? le, double value)
        {
            var pb = new Pb()
                .Msg(1, Label("__name__", name))
                .Msg(1, Label("reporter", "destination"))
                .Msg(1, Label("destination_workload", "cartservice"))
                .Msg(1, Label("source_workload", s.Caller))
                .Msg(1, Label("response_code", s.Code.ToString()));
            if (le is not null)
                pb.Msg(1, Label("le", le));
            return pb.Msg(2, new Pb().Dbl(1, value).Int(2, ts));
        }
        var request = new Pb();
        foreach (var s in series)
        {
            request.Msg(1, Series("istio_requests_total", s, null, s.Count));
            long cumulative = 0;
            for (int b = 0; b < Le.Length; b++)
            {
                cumulative += s.Buckets[b];
                request.Msg(
                    1,
                    Series(
                        "istio_request_duration_milliseconds_bucket",
                        s,
                        Le[b].ToString(System.Globalization.CultureInfo.InvariantCulture),
                        cumulative
                    )
                );
            }
            request.Msg(1, Series("istio_request_duration_milliseconds_bucket", s, "+Inf", s.Count));
        }
        return Snappier.Snappy.CompressToArray(request.ToArray());
    }

    /// <summary>The Istio bucket (lower, upper bound) holding <paramref name="ms"/>: how far interpolation can be
    /// off.</summary>
    private static (double Lo, double Hi) BucketAround(double ms)
    {
        int b = Array.FindIndex(Le, le => ms <= le);
        return (b <= 0 ? 0 : Le[b - 1], Le[b]);
    }

    private static double TrueQuantile(List<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }

    [Fact]
    public void HistogramBucketsAcrossScrapesBecomeWindowQuantilesAndRates()
    {
        SidecarSeries frontendOk = new("frontend", 200, 100),
            checkoutOk = new("checkout", 200, 50),
            checkoutFail = new("checkout", 503, 10);
        SidecarSeries[] all = [frontendOk, checkoutOk, checkoutFail];
        var decoder = new RemoteWriteDecoder(new DecodeOptions { DefaultCluster = "prod" });
        var windower = new EventTimeWindower(new WindowOptions(), new PipelineCounters(), new MemoryDeadLetterSink());
        var closed = new List<WindowAggregate>();
        // Observations each scrape made visible, by scrape time: what each window's increase should cover.
        var observedAt = new Dictionary<long, List<double>>();
        var requestsAt = new Dictionary<long, (long All, long Failed)>();

        for (int k = 0; k < 12; k++)
        {
            long ts = T0 + k * ScrapeMs;
            // frontend's sidecar restarts just before the 70 s scrape: its counters start again from zero.
            if (ts == T0 + 70_000)
                frontendOk.Restart();
            var seen = observedAt[ts] = [];
            if (k > 0)
                foreach (var s in all)
                    for (int i = 0; i < s.PerInterval; i++)
                    {
                        double ms = Latency(ts, i, s.PerInterval);
                        s.Observe(ms);
                        seen.Add(ms);
                    }
            requestsAt[ts] = (k > 0 ? all.Sum(s => (long)s.PerInterval) : 0, k > 0 ? checkoutFail.PerInterval : 0);
            var records = new List<TelemetryRecord>();
            decoder.Decode(RemoteWrite(ts, all), records);
            windower.Add(records, closed);
        }
        windower.Flush(closed);
        Assert.Equal(4, closed.Count);

        var featurizer = new Featurizer(new FeaturizerOptions());
        int m = FeatureSchema.MeasurementCount;
        foreach (var window in closed)
        {
            var features = featurizer.Featurize(window);
            int cart = Array.IndexOf(features.Services, "cartservice");
            double Get(Measurement x) => features.Measurements[cart * m + (int)x];

            // The increase a window sees runs from the previous window's last scrape to its own last one;
            // the very first scrape only sets the counters' starting point.
            var scrapes = observedAt.Keys.Where(t => t >= window.StartMs && t < window.EndMs && t > T0).ToList();
            var values = scrapes.SelectMany(t => observedAt[t]).ToList();
            long requests = scrapes.Sum(t => requestsAt[t].All),
                failed = scrapes.Sum(t => requestsAt[t].Failed);
            long coveredMs = scrapes.Max() - (scrapes.Min() - ScrapeMs);

            Assert.Equal(requests * 1000.0 / coveredMs, Get(Measurement.RequestRate), 9);
            Assert.Equal((double)failed / requests, Get(Measurement.ErrorRatio), 9);
            foreach (var (q, measurement) in new[] { (0.5, Measurement.LatencyP50), (0.95, Measurement.LatencyP95) })
            {
                var (lo, hi) = BucketAround(TrueQuantile(values, q));
                Assert.InRange(Get(measurement), lo, hi);
            }
        }
        // The window after the switch to slow responses (60..90 s, which also holds the restart) sees only
        // slow ones: a since-start histogram would still put its median among the fast ones, and a restart
        // taken for a negative increase would corrupt every bucket.
        var fresh = new Featurizer(new FeaturizerOptions());
        WindowFeatures? slow = null;
        foreach (var w in closed.Take(3))
            slow = fresh.Featurize(w);
        int c = Array.IndexOf(slow!.Services, "cartservice");
        // Uniform 200..500 ms interpolates to the true median (350) up to the discreteness of the samples.
        Assert.InRange(slow.Measurements[c * m + (int)Measurement.LatencyP50], 340, 360);
    }

    [Fact]
    public void MeshMetricsComputeP99AndLeaveSourceReportedSeriesOut()
    {
        var samples = new MeshRequestSamples();
        Dictionary<string, string> Labels(string reporter, string le) =>
            new()
            {
                ["reporter"] = reporter,
                ["destination_workload"] = "cart",
                ["le"] = le,
            };
        var source = new MetricSample(
            0,
            "c",
            "frontend",
            MeshRequestSamples.DurationBucket,
            5,
            Labels("source", "+Inf")
        );
        // the caller's view belongs to the caller, not to cart's own latency
        Assert.False(MeshRequestSamples.Reads(source));
        var measures = new LogWhisperer.Features.Metrics.MeshRequestMeasures();
        foreach (var (ts, below100, total) in new[] { (0L, 0.0, 0.0), (10_000L, 90.0, 100.0) })
        {
            samples.Add(
                new MetricSample(
                    ts,
                    "c",
                    "cart",
                    MeshRequestSamples.DurationBucket,
                    below100,
                    Labels("destination", "100")
                )
            );
            samples.Add(
                new MetricSample(
                    ts,
                    "c",
                    "cart",
                    MeshRequestSamples.DurationBucket,
                    total,
                    Labels("destination", "1000")
                )
            );
            samples.Add(
                new MetricSample(
                    ts,
                    "c",
                    "cart",
                    MeshRequestSamples.DurationBucket,
                    total,
                    Labels("destination", "+Inf")
                )
            );
        }
        var result = measures.Measure(samples);
        Assert.Equal(910, result.LatencyP99, 6); // rank 99 of 100: 9/10 of the way through 100..1000
        Assert.True(double.IsNaN(result.RequestRate)); // no istio_requests_total: no rate
    }
}
