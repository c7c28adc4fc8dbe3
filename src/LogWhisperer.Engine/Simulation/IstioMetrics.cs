using System.Globalization;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Simulation;

/// <summary>
/// The standard Istio request metrics, as each workload's Envoy sidecar exports them: the
/// <c>istio_requests_total</c> counter and the <c>istio_request_duration_milliseconds</c> histogram, labelled
/// with reporter, source_workload, destination_workload and response_code. Accumulated call by call (no
/// randomness, so turning them on leaves the simulated traffic unchanged) and exposed at each scrape of the
/// reporting workload.
/// </summary>
internal sealed class IstioMetrics(IReadOnlyList<string> services, string namespaceName)
{
    public const string RequestsTotal = "istio_requests_total";
    public const string Duration = "istio_request_duration_milliseconds";

    /// <summary>Where entry traffic comes from: the mesh's ingress gateway (not a service of the topology).</summary>
    public const string Ingress = "istio-ingressgateway";

    /// <summary>Istio's default duration buckets (ms), up to one minute.</summary>
    public static readonly double[] Buckets =
    [
        0.5,
        1,
        5,
        10,
        25,
        50,
        100,
        250,
        500,
        1000,
        2500,
        5000,
        10000,
        30000,
        60000,
    ];

    public enum Reporter
    {
        Source,
        Destination,
    }

    private sealed class Series
    {
        public long Count;
        public double Sum;
        public readonly long[] BucketCounts = new long[Buckets.Length];
        public required IReadOnlyDictionary<string, string> Labels { get; init; }
        public required IReadOnlyDictionary<string, string>[] BucketLabels { get; init; } // one per bucket, then +Inf
    }

    private readonly Dictionary<(int Src, int Dst, int Code, Reporter Reporter), Series> _series = [];
    private readonly List<Series>[] _byWorkload = services.Select(_ => new List<Series>()).ToArray();

    /// <param name="source">Calling service index, or -1 for the ingress gateway.</param>
    public void Record(Reporter reporter, int source, int destination, int code, double durationMs)
    {
        var key = (source, destination, code, reporter);
        if (!_series.TryGetValue(key, out var s))
        {
            s = NewSeries(reporter, source, destination, code);
            _series[key] = s;
            _byWorkload[reporter == Reporter.Source ? source : destination].Add(s);
        }
        s.Count++;
        s.Sum += durationMs;
        for (int b = 0; b < Buckets.Length; b++)
            if (durationMs <= Buckets[b])
            {
                s.BucketCounts[b]++;
                break;
            }
    }

    /// <summary>Every series this workload's sidecar reports, as scraped at <paramref name="timestampMs"/>.</summary>
    public void Scrape(int workload, long timestampMs, string cluster, List<TelemetryRecord> output)
    {
        string service = services[workload];
        foreach (var s in _byWorkload[workload])
        {
            output.Add(new MetricSample(timestampMs, cluster, service, RequestsTotal, s.Count, s.Labels));
            long cumulative = 0;
            for (int b = 0; b < Buckets.Length; b++)
            {
                cumulative += s.BucketCounts[b];
                output.Add(
                    new MetricSample(timestampMs, cluster, service, Duration + "_bucket", cumulative, s.BucketLabels[b])
                );
            }
            output.Add(
                new MetricSample(timestampMs, cluster, service, Duration + "_bucket", s.Count, s.BucketLabels[^1])
            );
            output.Add(new MetricSample(timestampMs, cluster, service, Duration + "_sum", s.Sum, s.Labels));
            output.Add(new MetricSample(timestampMs, cluster, service, Duration + "_count", s.Count, s.Labels));
        }
    }

    private Series NewSeries(Reporter reporter, int source, int destination, int code)
    {
        var labels = new Dictionary<string, string>
        {
            ["reporter"] = reporter == Reporter.Source ? "source" : "destination",
            ["source_workload"] = source < 0 ? Ingress : services[source],
            ["source_workload_namespace"] = namespaceName,
            ["destination_workload"] = services[destination],
            ["destination_workload_namespace"] = namespaceName,
            ["destination_service_name"] = services[destination],
            ["request_protocol"] = "http",
            ["response_code"] = code.ToString(CultureInfo.InvariantCulture),
        };
        var bucketLabels = new IReadOnlyDictionary<string, string>[Buckets.Length + 1];
        for (int b = 0; b <= Buckets.Length; b++)
            bucketLabels[b] = new Dictionary<string, string>(labels)
            {
                ["le"] = b < Buckets.Length ? Buckets[b].ToString(CultureInfo.InvariantCulture) : "+Inf",
            };
        return new Series { Labels = labels, BucketLabels = bucketLabels };
    }
}
