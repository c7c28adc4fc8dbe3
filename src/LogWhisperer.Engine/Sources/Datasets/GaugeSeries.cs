using System.Globalization;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources.Datasets;

/// <summary>
/// Turns gauges with a declared meaning (<see cref="GaugeSpec"/>) into the series the engine reads, so a dataset
/// needs no engine-specific metric names:
/// <list type="bullet">
/// <item>CPU → <c>container_cpu_usage_seconds_total</c> (cores × seconds accumulated); memory →
/// <c>container_memory_working_set_bytes</c>; restarts → <c>kube_pod_container_status_restarts_total</c>;</item>
/// <item>request rate or count and error (or success) share → <c>istio_requests_total</c> counters for response
/// codes 200 and 500; without a rate the error share is weighed as one request per second;</item>
/// <item>latency (average or quantiles) → <c>istio_request_duration_milliseconds_bucket</c> counters over fixed
/// buckets 1.5× apart, the requests of each interval placed at the given quantiles (an average counts as the
/// median), so the engine's histogram quantiles read them back to within a bucket.</item>
/// </list>
/// Per-edge gauges become the caller's client spans to the callee (one per request, at most
/// <see cref="MaxSpansPerSample"/> per sample), which is how the engine sees a call edge's rate, errors and latency.
/// </summary>
internal sealed class GaugeSeries(string cluster)
{
    public const int MaxSpansPerSample = 1000;

    /// <summary>Bucket bounds (ms): 0.5 × 1.5^k up to two minutes.</summary>
    public static readonly double[] LatencyBuckets = Enumerable
        .Range(0, 32)
        .Select(k => Math.Round(0.5 * Math.Pow(1.5, k), 3))
        .ToArray();
    private static readonly string[] BucketLabels = LatencyBuckets
        .Select(b => b.ToString(CultureInfo.InvariantCulture))
        .Append("+Inf")
        .ToArray();

    private sealed class Point
    {
        public double Rate = double.NaN,
            Count = double.NaN,
            ErrorShare = double.NaN,
            Cpu = double.NaN,
            Memory = double.NaN,
            Restarts = double.NaN;
        public readonly SortedDictionary<double, double> Latency = []; // quantile → ms
    }

    private readonly Dictionary<(string Key, long Ts), Point> _points = [];

    /// <summary>Adds one value; <paramref name="key"/> is a service, or "caller→callee" for an edge.</summary>
    public void Add(string key, long ts, GaugeSpec gauge, string? statistic, double value)
    {
        if (!_points.TryGetValue((key, ts), out var p))
            _points[(key, ts)] = p = new Point();
        string unit = gauge.EffectiveUnit;
        switch (gauge.Meaning)
        {
            case GaugeMeaning.Latency:
                p.Latency[GaugeStatistics.Quantile(statistic ?? gauge.Statistic ?? "avg") ?? 0.5] =
                    value
                    * unit switch
                    {
                        "s" => 1000,
                        "us" => 0.001,
                        _ => 1,
                    };
                break;
            case GaugeMeaning.ErrorShare:
                p.ErrorShare = unit == "percent" ? value / 100 : value;
                break;
            case GaugeMeaning.SuccessShare:
                p.ErrorShare = 1 - (unit == "percent" ? value / 100 : value);
                break;
            case GaugeMeaning.RequestRate:
                p.Rate = unit == "perMinute" ? value / 60 : value;
                break;
            case GaugeMeaning.RequestCount:
                p.Count = value;
                break;
            case GaugeMeaning.Cpu:
                p.Cpu =
                    value
                    * unit switch
                    {
                        "millicores" => 0.001,
                        "percent" => 0.01,
                        _ => 1,
                    };
                break;
            case GaugeMeaning.Memory:
                p.Memory = unit switch
                {
                    "kib" => value * 1024,
                    "mib" => value * 1048576,
                    "gib" => value * 1073741824,
                    "percent" => value / 100 * gauge.LimitBytes!.Value,
                    _ => value,
                };
                break;
            case GaugeMeaning.Restarts:
                p.Restarts = value;
                break;
        }
    }

    public bool IsEmpty => _points.Count == 0;

    /// <summary>The engine's series for every service and edge, in time order per key.</summary>
    public IEnumerable<TelemetryRecord> Records()
    {
        foreach (var group in _points.GroupBy(p => p.Key.Key))
        {
            var points = group.OrderBy(p => p.Key.Ts).ToList();
            int arrow = group.Key.IndexOf('→');
            var records =
                arrow < 0
                    ? ServiceRecords(group.Key, points)
                    : EdgeRecords(group.Key[..arrow], group.Key[(arrow + 1)..], points);
            foreach (var r in records)
                yield return r;
        }
    }

    private IEnumerable<TelemetryRecord> ServiceRecords(
        string service,
        List<KeyValuePair<(string Key, long Ts), Point>> points
    )
    {
        double cpuTotal = 0,
            ok = 0,
            errors = 0;
        var buckets = new double[LatencyBuckets.Length + 1];
        long previous = long.MinValue;
        var okLabels = Labels(service, "200");
        var errorLabels = Labels(service, "500");
        var bucketLabels = BucketLabels
            .Select(le => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(okLabels) { ["le"] = le })
            .ToArray();
        foreach (var ((_, ts), p) in points)
        {
            // Each sample covers the time since the previous one (the first only starts the counters, as a first scrape
            // does).
            double seconds = previous == long.MinValue ? 0 : (ts - previous) / 1000.0;
            previous = ts;
            if (!double.IsNaN(p.Cpu))
            {
                cpuTotal += p.Cpu * seconds;
                yield return new MetricSample(ts, cluster, service, "container_cpu_usage_seconds_total", cpuTotal);
            }
            if (!double.IsNaN(p.Memory))
                yield return new MetricSample(ts, cluster, service, "container_memory_working_set_bytes", p.Memory);
            if (!double.IsNaN(p.Restarts))
                yield return new MetricSample(
                    ts,
                    cluster,
                    service,
                    "kube_pod_container_status_restarts_total",
                    p.Restarts
                );
            bool hasRequests = !double.IsNaN(p.Rate) || !double.IsNaN(p.Count) || !double.IsNaN(p.ErrorShare);
            double requests = Requests(p, seconds);
            if (hasRequests)
            {
                double share = double.IsNaN(p.ErrorShare) ? 0 : Math.Clamp(p.ErrorShare, 0, 1);
                ok += requests * (1 - share);
                errors += requests * share;
                yield return new MetricSample(ts, cluster, service, "istio_requests_total", ok, okLabels);
                yield return new MetricSample(ts, cluster, service, "istio_requests_total", errors, errorLabels);
            }
            if (p.Latency.Count > 0)
            {
                foreach (var (ms, weight) in Spread(p.Latency))
                    AddToBuckets(buckets, ms, weight * requests);
                double cumulative = 0;
                for (int b = 0; b < buckets.Length; b++)
                {
                    cumulative += buckets[b];
                    yield return new MetricSample(
                        ts,
                        cluster,
                        service,
                        "istio_request_duration_milliseconds_bucket",
                        cumulative,
                        bucketLabels[b]
                    );
                }
            }
        }
    }

    private IEnumerable<TelemetryRecord> EdgeRecords(
        string caller,
        string callee,
        List<KeyValuePair<(string Key, long Ts), Point>> points
    )
    {
        long previous = long.MinValue,
            id = 0;
        foreach (var ((_, ts), p) in points)
        {
            double seconds = previous == long.MinValue ? 0 : (ts - previous) / 1000.0;
            previous = ts;
            int n = (int)Math.Min(MaxSpansPerSample, Math.Round(Requests(p, seconds)));
            if (n == 0)
                continue;
            int errors = (int)Math.Round(n * (double.IsNaN(p.ErrorShare) ? 0 : Math.Clamp(p.ErrorShare, 0, 1)));
            var latency = p.Latency.Count > 0 ? Spread(p.Latency).ToArray() : [(0.0, 1.0)];
            for (int i = 0; i < n; i++)
            {
                // The i-th request's duration: the latency quantile its position in the sample stands for.
                double position = (i + 0.5) / n,
                    acc = 0,
                    ms = latency[^1].Ms;
                foreach (var (m, w) in latency)
                {
                    acc += w;
                    if (position <= acc)
                    {
                        ms = m;
                        break;
                    }
                }
                long at = ts - (long)(seconds * 1000 * (1 - position));
                string spanId = $"{caller}>{callee}:{ts}:{id++}";
                yield return new SpanRecord(
                    at,
                    cluster,
                    caller,
                    spanId,
                    spanId,
                    null,
                    "edge-metrics",
                    SpanKind.Client,
                    callee,
                    ms,
                    i < errors
                );
            }
        }
    }

    /// <summary>Requests in the interval: the count, else rate × seconds, else one per second (a share alone still
    /// weighs something).</summary>
    private static double Requests(Point p, double seconds) =>
        !double.IsNaN(p.Count) ? Math.Max(0, p.Count)
        : !double.IsNaN(p.Rate) ? Math.Max(0, p.Rate) * seconds
        : seconds;

    /// <summary>The latency quantiles as (ms, share of requests): each quantile holds the mass up to it from the
    /// previous one.</summary>
    private static IEnumerable<(double Ms, double Weight)> Spread(SortedDictionary<double, double> quantiles)
    {
        double below = 0;
        foreach (var (q, ms) in quantiles)
        {
            double upTo = q >= 1 ? 1 : q,
                weight = upTo - below;
            if (quantiles.Count == 1)
                weight = 1;
            if (weight > 0)
                yield return (ms, weight);
            below = upTo;
        }
        if (quantiles.Count > 1 && below < 1)
            yield return (quantiles.Last().Value, 1 - below);
    }

    private static void AddToBuckets(double[] buckets, double ms, double count)
    {
        int b = 0;
        while (b < LatencyBuckets.Length && ms > LatencyBuckets[b])
            b++;
        buckets[b] += count;
    }

    private static Dictionary<string, string> Labels(string service, string code) =>
        new()
        {
            ["reporter"] = "destination",
            ["destination_workload"] = service,
            ["response_code"] = code,
        };
}
