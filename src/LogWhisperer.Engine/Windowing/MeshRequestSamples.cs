using System.Globalization;
using LogWhisperer.Features.Metrics;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Windowing;

/// <summary>
/// The Istio request metrics a service's own sidecar reported in one window (reporter="destination":
/// istio_requests_total and the istio_request_duration_milliseconds buckets). They are cumulative counters,
/// so the window keeps every sample of every series; the featurizer turns them into increases against each
/// series' last value from earlier windows (<see cref="Features.Metrics.MeshRequestMeasures"/>). They stand in
/// for server spans when a mesh exports metrics but no traces.
/// </summary>
public sealed class MeshRequestSamples
{
    public const string RequestsTotal = "istio_requests_total";
    public const string DurationBucket = "istio_request_duration_milliseconds_bucket";

    /// <summary>One cumulative counter series: its samples in arrival order.</summary>
    public sealed class Series(string key)
    {
        public string Key => key;
        public readonly List<(long Ts, double Value)> Samples = new(2);
    }

    /// <summary>istio_requests_total series, with whether their response code is a server error.</summary>
    public readonly Dictionary<string, (Series Series, bool IsError)> Requests = new(StringComparer.Ordinal);

    /// <summary>Duration bucket series (one per series and upper bound), with the bucket's upper bound.</summary>
    public readonly Dictionary<string, (Series Series, double Le)> DurationBuckets = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="m"/> is a mesh request metric reported by the service itself.</summary>
    public static bool Reads(MetricSample m) =>
        m.Name is RequestsTotal or DurationBucket
        && !(m.Labels is { } labels && labels.TryGetValue("reporter", out var reporter) && reporter == "source");

    public void Add(MetricSample m)
    {
        if (m.Name == RequestsTotal)
        {
            string key = SeriesKey.Of(m.Service, m.Labels);
            if (!Requests.TryGetValue(key, out var s))
                Requests[key] = s = (
                    new Series(key),
                    m.Labels is { } l && l.TryGetValue("response_code", out var code) && code.StartsWith('5')
                );
            s.Series.Samples.Add((m.TimestampMs, m.Value));
        }
        else
        {
            // A bucket without a readable le is not a bucket: it is left out (the histogram then lacks it).
            if (m.Labels is null || !m.Labels.TryGetValue("le", out var leText) || !TryParseLe(leText, out double le))
                return;
            string key = SeriesKey.Of(m.Service, m.Labels);
            if (!DurationBuckets.TryGetValue(key, out var s))
                DurationBuckets[key] = s = (new Series(key), le);
            s.Series.Samples.Add((m.TimestampMs, m.Value));
        }
    }

    private static bool TryParseLe(string text, out double le)
    {
        if (text is "+Inf" or "Inf" or "inf")
        {
            le = double.PositiveInfinity;
            return true;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out le);
    }
}
