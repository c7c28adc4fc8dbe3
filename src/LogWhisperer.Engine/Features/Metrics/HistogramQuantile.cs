using LogWhisperer.Telemetry;

namespace LogWhisperer.Features.Metrics;

/// <summary>
/// Quantiles from a Prometheus histogram (cumulative <c>_bucket</c> counts by upper bound <c>le</c>, as in
/// istio_request_duration_milliseconds_bucket), the way PromQL's histogram_quantile computes them: find the
/// bucket holding the rank and interpolate linearly inside it. Pass bucket <em>increases</em> over the window
/// (see <see cref="CounterRate"/>) to get the window's quantile rather than the since-start one.
/// </summary>
internal static class HistogramQuantile
{
    /// <param name="buckets">(upper bound, cumulative count); +Inf for the last. Any order.</param>
    /// <returns>The quantile; NaN without observations. A rank in the +Inf bucket returns the highest finite
    /// bound.</returns>
    public static double Compute(double q, IEnumerable<(double Le, double Count)> buckets)
    {
        var b = buckets.OrderBy(x => x.Le).ToArray();
        if (b.Length == 0 || !double.IsPositiveInfinity(b[^1].Le))
            return double.NaN;
        // Counts must not fall with the bound (scrape races can make them); PromQL forces monotonicity too.
        for (int i = 1; i < b.Length; i++)
            if (b[i].Count < b[i - 1].Count)
                b[i].Count = b[i - 1].Count;
        double total = b[^1].Count;
        if (total <= 0)
            return double.NaN;
        double rank = Math.Clamp(q, 0, 1) * total;
        int k = 0;
        while (k < b.Length - 1 && b[k].Count < rank)
            k++;
        if (k == b.Length - 1)
            return b.Length > 1 ? b[^2].Le : double.NaN;
        double lower = k == 0 ? Math.Min(0, b[0].Le) : b[k - 1].Le,
            below = k == 0 ? 0 : b[k - 1].Count;
        double inBucket = b[k].Count - below;
        return inBucket <= 0 ? b[k].Le : lower + (b[k].Le - lower) * (rank - below) / inBucket;
    }

    /// <summary>
    /// Quantile per series of one histogram metric from its bucket samples: samples are grouped by their labels
    /// other than <c>le</c> (e.g. per destination_workload); the latest value of each bucket is used.
    /// </summary>
    public static Dictionary<string, double> PerSeries(IEnumerable<MetricSample> samples, string bucketMetric, double q)
    {
        var series = new Dictionary<string, Dictionary<double, (long Ts, double Value)>>();
        foreach (var s in samples)
        {
            if (s.Name != bucketMetric || s.Labels is null || !s.Labels.TryGetValue("le", out var leText))
                continue;
            double le = leText is "+Inf" or "Inf"
                ? double.PositiveInfinity
                : double.Parse(leText, System.Globalization.CultureInfo.InvariantCulture);
            string key = SeriesKey.Of(s.Service, s.Labels, except: "le");
            if (!series.TryGetValue(key, out var buckets))
                series[key] = buckets = [];
            if (!buckets.TryGetValue(le, out var old) || old.Ts <= s.TimestampMs)
                buckets[le] = (s.TimestampMs, s.Value);
        }
        return series.ToDictionary(p => p.Key, p => Compute(q, p.Value.Select(b => (b.Key, b.Value.Value))));
    }
}

/// <summary>A stable text key for a series: service plus its labels in name order (optionally without one).</summary>
internal static class SeriesKey
{
    public static string Of(string service, IReadOnlyDictionary<string, string>? labels, string? except = null) =>
        labels is null || labels.Count == 0
            ? service
            : service
                + "{"
                + string.Join(
                    ",",
                    labels
                        .Where(l => l.Key != except)
                        .OrderBy(l => l.Key, StringComparer.Ordinal)
                        .Select(l => l.Key + "=" + l.Value)
                )
                + "}";
}
