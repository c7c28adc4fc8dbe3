using System.Globalization;
using System.Text.Json;
using LogWhisperer.Telemetry;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Sources;

/// <summary>A minimal Prometheus HTTP API client (instant and range queries); there is no maintained .NET client to
/// reuse.</summary>
public sealed class PrometheusClient(HttpClient http, Uri baseUrl)
{
    public sealed record Series(
        IReadOnlyDictionary<string, string> Labels,
        IReadOnlyList<(long TimestampMs, double Value)> Samples
    );

    /// <summary>GET /api/v1/query: an instant vector (one sample per series).</summary>
    public Task<IReadOnlyList<Series>> QueryAsync(string promql, DateTimeOffset time, CancellationToken ct = default) =>
        GetAsync($"api/v1/query?query={Uri.EscapeDataString(promql)}&time={Seconds(time)}", ct);

    /// <summary>GET /api/v1/query_range: a matrix.</summary>
    public Task<IReadOnlyList<Series>> QueryRangeAsync(
        string promql,
        DateTimeOffset start,
        DateTimeOffset end,
        TimeSpan step,
        CancellationToken ct = default
    ) =>
        GetAsync(
            $"api/v1/query_range?query={Uri.EscapeDataString(promql)}&start={Seconds(start)}&end={Seconds(end)}&step={step.TotalSeconds.ToString(CultureInfo.InvariantCulture)}",
            ct
        );

    private static string Seconds(DateTimeOffset t) =>
        (t.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);

    private async Task<IReadOnlyList<Series>> GetAsync(string relative, CancellationToken ct)
    {
        using var response = await http.GetAsync(new Uri(baseUrl, relative), ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        // 5xx (Prometheus overloaded or restarting, a proxy in front of it): transient, for callers to retry.
        if ((int)response.StatusCode >= 500)
            throw new HttpRequestException(
                $"prometheus: HTTP {(int)response.StatusCode}: "
                    + $"{System.Text.Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200)))}",
                null,
                response.StatusCode
            );
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw new InvalidDataException($"prometheus: HTTP {(int)response.StatusCode}, not a JSON answer");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.GetProperty("status").GetString() != "success")
                throw new InvalidDataException(
                    $"prometheus: {root.GetProperty("errorType").GetString()}: {root.GetProperty("error").GetString()}"
                );
            var data = root.GetProperty("data");
            var series = new List<Series>();
            foreach (var s in data.GetProperty("result").EnumerateArray())
            {
                var labels = s.GetProperty("metric")
                    .EnumerateObject()
                    .ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
                var samples = new List<(long, double)>();
                if (s.TryGetProperty("value", out var v))
                    samples.Add(Sample(v));
                if (s.TryGetProperty("values", out var vs))
                    foreach (var x in vs.EnumerateArray())
                        samples.Add(Sample(x));
                series.Add(new Series(labels, samples));
            }
            return series;
        }
    }

    // [ <unix seconds, float>, "<value as string>" ]
    private static (long, double) Sample(JsonElement pair) =>
        (
            (long)Math.Round(pair[0].GetDouble() * 1000),
            double.Parse(pair[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)
        );
}

/// <summary>A call edge between two workloads.</summary>
public sealed record ServiceEdge(string Source, string Target, string? Namespace = null);

/// <summary>
/// The mesh's call graph, step 1 of topology: edges from Prometheus (the PromQL Kiali's service graph uses over
/// istio_requests_total, source_workload → destination_workload by namespace), merged with edges observed in
/// traces (client spans naming their peer). Each edge remembers when it was last seen; edges not seen for
/// <c>maxAge</c> age out, so removed services disappear from the graph.
/// </summary>
public sealed class ServiceGraphDiscovery(TimeSpan maxAge)
{
    /// <summary>Kiali's workload graph query, per namespace pair.</summary>
    public const string IstioEdgesQuery =
        "sum(rate(istio_requests_total{reporter=\"source\"}[5m])) by (source_workload_namespace, "
        + "source_workload, destination_workload_namespace, destination_workload) > 0";

    private readonly Dictionary<ServiceEdge, DateTimeOffset> _lastSeen = [];
    private readonly Lock _lock = new();

    /// <summary>Queries Prometheus and records every edge with traffic.</summary>
    public async Task<int> RefreshFromPrometheusAsync(
        PrometheusClient prometheus,
        DateTimeOffset now,
        CancellationToken ct = default
    )
    {
        var series = await prometheus.QueryAsync(IstioEdgesQuery, now, ct);
        int seen = 0;
        foreach (var s in series)
        {
            if (
                !s.Labels.TryGetValue("source_workload", out var from)
                || !s.Labels.TryGetValue("destination_workload", out var to)
            )
                continue;
            if (from is "" or "unknown" || to is "" or "unknown")
                continue;
            Observe(new ServiceEdge(from, to, s.Labels.GetValueOrDefault("destination_workload_namespace")), now);
            seen++;
        }
        return seen;
    }

    /// <summary>Records the edge a client span shows (its service calling its peer).</summary>
    public void Observe(SpanRecord span)
    {
        if (span.Kind == SpanKind.Client && !string.IsNullOrEmpty(span.PeerService) && span.PeerService != span.Service)
            Observe(
                new ServiceEdge(span.Service, span.PeerService),
                DateTimeOffset.FromUnixTimeMilliseconds(span.TimestampMs)
            );
    }

    public void Observe(ServiceEdge edge, DateTimeOffset at)
    {
        // Traces name no namespace: they match the Prometheus edge of the same pair.
        lock (_lock)
        {
            var key = edge.Namespace is null
                ? _lastSeen.Keys.FirstOrDefault(e => e.Source == edge.Source && e.Target == edge.Target) ?? edge
                : edge;
            if (!_lastSeen.TryGetValue(key, out var last) || at > last)
                _lastSeen[key] = at;
        }
    }

    /// <summary>Edges seen within maxAge of <paramref name="now"/>; older ones are forgotten.</summary>
    public IReadOnlyList<ServiceEdge> Edges(DateTimeOffset now)
    {
        lock (_lock)
        {
            foreach (var stale in _lastSeen.Where(e => now - e.Value > maxAge).Select(e => e.Key).ToList())
                _lastSeen.Remove(stale);
            return _lastSeen
                .Keys.OrderBy(e => e.Source, StringComparer.Ordinal)
                .ThenBy(e => e.Target, StringComparer.Ordinal)
                .ToList();
        }
    }

    /// <summary>Refreshes from Prometheus every <paramref name="interval"/> until cancelled; failures are logged and
    /// retried.</summary>
    public async Task RunAsync(PrometheusClient prometheus, TimeSpan interval, ILogger log, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                await RefreshFromPrometheusAsync(prometheus, DateTimeOffset.UtcNow, ct);
            }
            catch (Exception e) when (e is HttpRequestException or InvalidDataException)
            {
                log.LogWarning("topology refresh failed: {Reason}", e.Message);
            }
        } while (await timer.WaitForNextTickAsync(ct));
    }
}
