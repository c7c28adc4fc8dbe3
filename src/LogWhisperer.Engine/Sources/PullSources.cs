using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources;

/// <summary>Where a pull source starts and how it follows.</summary>
public sealed record PullOptions
{
    public required DateTimeOffset Start { get; init; }
    /// <summary>Stop here; null = follow the present (poll every <see cref="Step"/>, staying <see cref="Delay"/> behind now).</summary>
    public DateTimeOffset? End { get; init; }
    /// <summary>Event time fetched per request.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How far behind the present a followed source stays, so late ingestion is not missed.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The event-time ranges [From, To) to fetch, in order: up to <see cref="End"/>, or following the present
    /// (waiting a step whenever it has caught up to now minus <see cref="Delay"/>).
    /// </summary>
    public async IAsyncEnumerable<(DateTimeOffset From, DateTimeOffset To)> Steps([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = Start;
        while (!cancellationToken.IsCancellationRequested)
        {
            var end = End ?? DateTimeOffset.UtcNow - Delay;
            if (from >= end)
            {
                if (End is not null) yield break;
                await Task.Delay(Step, cancellationToken);
                continue;
            }
            var to = from + Step < end ? from + Step : end;
            yield return (from, to);
            from = to;
        }
    }
}

/// <summary>
/// Logs pulled from Loki's HTTP API (GET /loki/api/v1/query_range, direction=forward, paged by limit) for teams
/// without Kafka. There is no Loki client on NuGet; this is HttpClient + System.Text.Json.
/// </summary>
public sealed class LokiPullSource(HttpClient http, Uri baseUrl, string logQl, PullOptions pull, DecodeOptions decode, int limit = 5000) : ITelemetrySource
{
    private readonly LokiJsonDecoder _decoder = new(decode);

    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (from, to) in pull.Steps(cancellationToken))
        {
            // Page through [from, to): Loki returns at most `limit` entries, oldest first.
            long startNs = from.ToUnixTimeMilliseconds() * 1_000_000, endNs = to.ToUnixTimeMilliseconds() * 1_000_000;
            while (true)
            {
                var url = new Uri(baseUrl, $"loki/api/v1/query_range?query={Uri.EscapeDataString(logQl)}&start={startNs}&end={endNs}&limit={limit}&direction=forward");
                var page = new List<TelemetryRecord>();
                long lastNs = await QueryAsync(url, page, cancellationToken);
                if (page.Count > 0) yield return page;
                if (page.Count < limit || lastNs < startNs) break;
                startNs = lastNs + 1;
            }
        }
    }

    private async Task<long> QueryAsync(Uri url, List<TelemetryRecord> output, CancellationToken ct)
    {
        using var response = await http.GetAsync(url, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidDataException($"loki: HTTP {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200)))}");
        using var doc = JsonDocument.Parse(body);
        var data = doc.RootElement.GetProperty("data");
        if (data.GetProperty("resultType").GetString() != "streams") throw new InvalidDataException("loki: query_range of a log query must answer streams (is the query a metric query?)");
        int before = output.Count;
        _decoder.DecodeStreams(data.GetProperty("result"), output);
        output.Sort(before, output.Count - before, Comparer<TelemetryRecord>.Create((a, b) => a.TimestampMs.CompareTo(b.TimestampMs)));
        // Paging needs the newest entry's exact nanoseconds, which the ms records lose: take it from the answer.
        long lastNs = long.MinValue;
        foreach (var stream in data.GetProperty("result").EnumerateArray())
            foreach (var v in stream.GetProperty("values").EnumerateArray())
                lastNs = Math.Max(lastNs, long.Parse(v[0].GetString()!, CultureInfo.InvariantCulture));
        return lastNs;
    }
}

/// <summary>
/// Metrics pulled from Prometheus's HTTP API (query_range) for teams without Kafka: each PromQL expression's
/// series become <see cref="MetricSample"/>s named by their __name__ (or the expression's configured name).
/// </summary>
public sealed class PrometheusPullSource(PrometheusClient prometheus, IReadOnlyDictionary<string, string> queries, PullOptions pull, DecodeOptions decode, TimeSpan resolution) : ITelemetrySource
{
    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (from, to) in pull.Steps(cancellationToken))
        {
            var batch = new List<TelemetryRecord>();
            foreach (var (name, promql) in queries)
            {
                // query_range includes both ends; the next step starts one resolution later so no sample repeats.
                foreach (var series in await prometheus.QueryRangeAsync(promql, from, to - TimeSpan.FromMilliseconds(1), resolution, cancellationToken))
                {
                    var labels = new Dictionary<string, string>(series.Labels);
                    labels.Remove("__name__", out var metric);
                    string cluster = decode.ClusterOf(labels), service = decode.ServiceOfMetric(labels);
                    foreach (var (ts, value) in series.Samples)
                        batch.Add(new MetricSample(ts, cluster, service, metric ?? name, value, labels.Count == 0 ? null : labels));
                }
            }
            batch.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
            if (batch.Count > 0) yield return batch;
        }
    }
}
