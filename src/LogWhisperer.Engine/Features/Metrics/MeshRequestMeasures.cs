using LogWhisperer.Windowing;

namespace LogWhisperer.Features.Metrics;

/// <summary>
/// A service's request rate, error ratio and latency quantiles from its Istio request metrics, the way
/// <c>sum(rate(istio_requests_total[w]))</c> and <c>histogram_quantile(q, sum by (le) (rate(…_bucket[w])))</c>
/// compute them: counters become reset-aware increases, bucket increases are summed over every series by upper
/// bound (callers, response codes) and interpolated. Keeps each counter series' last sample across windows, so
/// a window holding a single scrape still has an increase (from the previous window's last scrape).
/// </summary>
/// <param name="forgetSeriesAfterMs">A series with no sample for this long (a pod gone, a label value that no longer
/// occurs) is forgotten; if it comes back it starts afresh, as a new series would.</param>
internal sealed class MeshRequestMeasures(long forgetSeriesAfterMs = WindowOptions.DefaultForgetServiceAfterMs)
{
    private readonly Dictionary<string, CounterRate> _counters = new(StringComparer.Ordinal);
    private long _newestMs = long.MinValue;

    public readonly record struct Result(
        double RequestRate,
        double ErrorRatio,
        double LatencyP50,
        double LatencyP95,
        double LatencyP99
    )
    {
        public static readonly Result None = new(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
    }

    public Result Measure(MeshRequestSamples samples)
    {
        long fromMs = long.MaxValue,
            toMs = long.MinValue;
        double requests = 0,
            errors = 0;
        foreach (var (series, isError) in samples.Requests.Values)
        {
            double increase = Increase(series, ref fromMs, ref toMs);
            requests += increase;
            if (isError)
                errors += increase;
        }
        var buckets = new Dictionary<double, double>();
        foreach (var (series, le) in samples.DurationBuckets.Values)
        {
            long ignoredFrom = 0,
                ignoredTo = 0;
            buckets[le] = buckets.GetValueOrDefault(le) + Increase(series, ref ignoredFrom, ref ignoredTo);
        }
        if (_newestMs != long.MinValue)
            foreach (var (key, counter) in _counters)
                if (counter.LastMs < _newestMs - forgetSeriesAfterMs)
                    _counters.Remove(key);
        var histogram = buckets.Select(b => (b.Key, b.Value)).ToArray();
        double seconds = toMs > fromMs ? (toMs - fromMs) / 1000.0 : 0;
        return new Result(
            seconds > 0 ? requests / seconds : double.NaN,
            requests > 0 ? errors / requests : double.NaN,
            HistogramQuantile.Compute(0.50, histogram),
            HistogramQuantile.Compute(0.95, histogram),
            HistogramQuantile.Compute(0.99, histogram)
        );
    }

    /// <summary>The series' increase over its samples newer than the last one already counted; widens
    /// [fromMs, toMs] to the time that increase covers.</summary>
    private double Increase(MeshRequestSamples.Series series, ref long fromMs, ref long toMs)
    {
        if (!_counters.TryGetValue(series.Key, out var counter))
            _counters[series.Key] = counter = new CounterRate();
        var samples = series.Samples;
        // Scrapes normally arrive in order; sort the rare out-of-order window rather than count it as a reset.
        if (!IsSorted(samples))
            samples.Sort((a, b) => a.Ts.CompareTo(b.Ts));
        double sum = 0;
        foreach (var (ts, value) in samples)
        {
            _newestMs = Math.Max(_newestMs, ts);
            long previousMs = counter.LastMs;
            double increase = counter.Add(ts, value);
            if (double.IsNaN(increase) || ts <= previousMs)
                continue; // first sample ever, or already counted
            sum += increase;
            fromMs = Math.Min(fromMs, previousMs);
            toMs = Math.Max(toMs, ts);
        }
        return sum;
    }

    private static bool IsSorted(List<(long Ts, double Value)> samples)
    {
        for (int i = 1; i < samples.Count; i++)
            if (samples[i].Ts < samples[i - 1].Ts)
                return false;
        return true;
    }
}
