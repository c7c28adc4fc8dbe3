using LogWhisperer.Telemetry;

namespace LogWhisperer.Windowing;

/// <summary>What one service did in one window, accumulated record by record.</summary>
public sealed class ServiceWindowStats
{
    public long ServerSpans,
        ServerErrors,
        OriginErrors;
    public readonly LatencySketch Latency = new();
    public readonly LatencySketch SelfTime = new();
    public long ClientSpans,
        ClientErrors;
    public long Logs,
        ErrorLogs,
        WarnLogs;

    /// <summary>Error lines that name no other service of the mesh: the service reporting on itself, not on a
    /// peer.</summary>
    public long OwnErrorLogs;

    /// <summary>Log lines per Drain template id (ids are the service's, stable across windows), with one example line
    /// each.</summary>
    public readonly Dictionary<int, (int Count, string Example)> Templates = [];
    public long MetricSamples;
    public double CpuFirst = double.NaN,
        CpuLast = double.NaN;
    public long CpuFirstMs,
        CpuLastMs;
    public double MemoryMaxBytes = double.NaN;
    public double RestartsFirst = double.NaN,
        RestartsLast = double.NaN;

    /// <summary>Istio request metrics the service's sidecar reported; null when there were none.</summary>
    public MeshRequestSamples? Mesh;

    /// <summary>What the window's traces, with their logs attached, say about this service (scored when the window
    /// closes).</summary>
    public TraceEvidenceStats Evidence = new();

    public long Records => ServerSpans + ClientSpans + Logs + MetricSamples;
}

/// <summary>Calls from one service to another in one window, as the caller's client spans saw them.</summary>
public sealed class EdgeWindowStats
{
    public long Calls,
        Errors;
    public readonly LatencySketch Latency = new();
}

/// <summary>
/// A closed event-time window of one cluster: per-service and per-edge statistics, ready to featurize.
/// </summary>
public sealed record WindowAggregate(
    string Cluster,
    long StartMs,
    long EndMs,
    IReadOnlyDictionary<string, ServiceWindowStats> Services,
    IReadOnlyDictionary<(string From, string To), EdgeWindowStats> Edges,
    long Records
)
{
    public double Seconds => (EndMs - StartMs) / 1000.0;

    /// <summary>The services the window held: records of them or calls to them. Evidence alone (a service's known
    /// events falling silent) is not holding it. The windower and the featurizer forget services by this.</summary>
    public IEnumerable<string> HeldServices()
    {
        foreach (var (service, stats) in Services)
            if (stats.Records > 0)
                yield return service;
        foreach (var (from, to) in Edges.Keys)
        {
            yield return from;
            yield return to;
        }
    }
}

/// <summary>
/// Accumulates one (cluster, window). Spans are assembled here to separate a service's own time and own
/// errors from those of its dependencies: a server span's self time is its duration minus its client
/// children's; an error "originates" in a service when none of the calls it made failed.
/// </summary>
internal sealed class WindowAccumulator(string cluster, long startMs, long endMs)
{
    private readonly Dictionary<string, ServiceWindowStats> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), EdgeWindowStats> _edges = [];
    private readonly Dictionary<string, (ServiceWindowStats Stats, double DurationMs, bool Error)> _serverSpans = new(
        StringComparer.Ordinal
    );
    private readonly Dictionary<string, (double Sum, bool AnyError)> _childCalls = new(StringComparer.Ordinal);
    private readonly WindowTraces _traces = new();
    private long _records;

    public long StartMs => startMs;
    public long EndMs => endMs;

    /// <summary>Whether anything in the window is of, or calls, <paramref name="service"/>.</summary>
    public bool Holds(string service) =>
        _services.ContainsKey(service) || _edges.Keys.Any(e => e.Item1 == service || e.Item2 == service);

    private ServiceWindowStats Service(string name)
    {
        if (!_services.TryGetValue(name, out var s))
            _services[name] = s = new ServiceWindowStats();
        return s;
    }

    /// <param name="logTemplate">The Drain template id of a log record (mined by the windower); ignored
    /// otherwise.</param>
    /// <param name="namesPeer">Whether an error line names another service of the mesh (it reports on a peer).</param>
    public void Add(TelemetryRecord record, int logTemplate, bool namesPeer = false)
    {
        _records++;
        var stats = Service(record.Service);
        if (record is SpanRecord traced)
            _traces.AddSpan(traced);
        else if (record is LogRecord logged)
            _traces.AddLog(logged, logTemplate);
        switch (record)
        {
            case SpanRecord { Kind: SpanKind.Server or SpanKind.Consumer } span:
                stats.ServerSpans++;
                if (span.IsError)
                    stats.ServerErrors++;
                stats.Latency.Add(span.DurationMs);
                _serverSpans[span.SpanId] = (stats, span.DurationMs, span.IsError);
                break;
            case SpanRecord { Kind: SpanKind.Client or SpanKind.Producer } span:
                stats.ClientSpans++;
                if (span.IsError)
                    stats.ClientErrors++;
                if (span.ParentSpanId is { } parent)
                {
                    _childCalls.TryGetValue(parent, out var c);
                    _childCalls[parent] = (c.Sum + span.DurationMs, c.AnyError || span.IsError);
                }
                if (!string.IsNullOrEmpty(span.PeerService))
                {
                    var key = (span.Service, span.PeerService);
                    if (!_edges.TryGetValue(key, out var edge))
                        _edges[key] = edge = new EdgeWindowStats();
                    edge.Calls++;
                    if (span.IsError)
                        edge.Errors++;
                    edge.Latency.Add(span.DurationMs);
                }
                break;
            case LogRecord log:
                stats.Logs++;
                if (log.Severity >= LogSeverity.Error)
                {
                    stats.ErrorLogs++;
                    if (!namesPeer)
                        stats.OwnErrorLogs++;
                }
                else if (log.Severity == LogSeverity.Warn)
                    stats.WarnLogs++;
                stats.Templates[logTemplate] = stats.Templates.TryGetValue(logTemplate, out var t)
                    ? (t.Count + 1, t.Example)
                    : (1, log.Message);
                break;
            case MetricSample metric:
                stats.MetricSamples++;
                if (MeshRequestSamples.Reads(metric))
                    (stats.Mesh ??= new MeshRequestSamples()).Add(metric);
                else
                    AddMetric(stats, metric);
                break;
        }
    }

    private static void AddMetric(ServiceWindowStats stats, MetricSample m)
    {
        switch (m.Name)
        {
            case "container_cpu_usage_seconds_total":
                if (double.IsNaN(stats.CpuFirst) || m.TimestampMs < stats.CpuFirstMs)
                {
                    stats.CpuFirst = m.Value;
                    stats.CpuFirstMs = m.TimestampMs;
                }
                if (double.IsNaN(stats.CpuLast) || m.TimestampMs >= stats.CpuLastMs)
                {
                    stats.CpuLast = m.Value;
                    stats.CpuLastMs = m.TimestampMs;
                }
                break;
            case "container_memory_working_set_bytes":
                stats.MemoryMaxBytes = double.IsNaN(stats.MemoryMaxBytes)
                    ? m.Value
                    : Math.Max(stats.MemoryMaxBytes, m.Value);
                break;
            case "kube_pod_container_status_restarts_total":
                stats.RestartsFirst = double.IsNaN(stats.RestartsFirst)
                    ? m.Value
                    : Math.Min(stats.RestartsFirst, m.Value);
                stats.RestartsLast = double.IsNaN(stats.RestartsLast) ? m.Value : Math.Max(stats.RestartsLast, m.Value);
                break;
        }
    }

    /// <param name="baselines">The cluster's trace baselines (per-operation latency, event counts); taught this
    /// window.</param>
    /// <param name="isNovelTemplate">Whether a (service, template id) was first seen recently, after the cluster's
    /// warm-up.</param>
    public WindowAggregate Close(TraceBaselines baselines, Func<string, int, bool> isNovelTemplate)
    {
        _traces.Close(Service, baselines, isNovelTemplate, endMs);
        // Edges from nesting where no caller recorded a client span for that pair in this window.
        var clientSeen = new HashSet<(string, string)>(_edges.Keys);
        foreach (var (from, to, ms, error) in _traces.NestedCalls())
        {
            if (clientSeen.Contains((from, to)))
                continue;
            if (!_edges.TryGetValue((from, to), out var edge))
                _edges[(from, to)] = edge = new EdgeWindowStats();
            edge.Calls++;
            if (error)
                edge.Errors++;
            edge.Latency.Add(ms);
            Service(from); // the caller is in the window (its server span is)
        }
        foreach (var (spanId, span) in _serverSpans)
        {
            _childCalls.TryGetValue(spanId, out var children);
            span.Stats.SelfTime.Add(Math.Max(0, span.DurationMs - children.Sum));
            if (span.Error && !children.AnyError)
                span.Stats.OriginErrors++;
        }
        return new WindowAggregate(cluster, startMs, endMs, _services, _edges, _records);
    }
}
