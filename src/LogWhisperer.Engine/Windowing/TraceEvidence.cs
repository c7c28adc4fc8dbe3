using LogWhisperer.Features;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Windowing;

/// <summary>
/// What one window's traces say about one service once logs are attached to them: how many of the window's
/// anomalous traces pass through it (below their deepest anomaly), how specific that is to anomalous traces
/// (Ochiai), how often it holds the deepest anomaly of a trace, and how far its event frequencies (log
/// templates, operations served, calls made) moved from the cluster's fault-free baseline.
/// </summary>
public sealed class TraceEvidenceStats
{
    /// <summary>Anomalous traces of the window, all services together (the denominator of the shares below).</summary>
    public long WindowAnomalousTraces;

    /// <summary>Anomalous traces passing through this service at or below their deepest anomaly.</summary>
    public long AnomalousTraces;

    /// <summary>Normal traces passing through this service.</summary>
    public long NormalTraces;

    /// <summary>Ochiai: AnomalousTraces / √(WindowAnomalousTraces · (AnomalousTraces + NormalTraces)), 0..1.</summary>
    public double Spectrum;

    /// <summary>Share of anomalous traces whose deepest anomaly (no anomalous span below it) is in this service,
    /// 0..1.</summary>
    public double DeepestShare;

    /// <summary>Its server spans far slower than the baseline of their own (service, operation).</summary>
    public long SlowSpans;

    /// <summary>Its server spans with fewer calls, inner spans and log lines than every recent span of their own
    /// (service, operation), where that operation has one usual shape: a request cut short, as a thrown exception
    /// leaves it.</summary>
    public long TruncatedSpans;

    /// <summary>Its warn/error log lines attached to a trace, and those from never-seen or surging templates.</summary>
    public long LinkedErrorLines,
        ShiftedErrorLines;

    /// <summary>Largest rise and largest fall of one of its events against its baseline count, as a count
    /// z-score.</summary>
    public double EventRise,
        EventFall;

    /// <summary>The event that rose most ("log: …", "serves: …", "calls: …"), for the explanation.</summary>
    public string? TopEvent;
}

/// <summary>The kinds of event whose frequencies the event-pattern shift compares with their baseline.</summary>
internal enum EventKind : byte
{
    Log,
    Serves,
    Calls,
}

/// <summary>One event of a service: a log template (by id), an operation it serves or a service it calls (by name).
/// A struct key, so counting events allocates nothing per record.</summary>
internal readonly record struct EventKey(EventKind Kind, string? Name, int Template)
{
    public override string ToString() =>
        Kind switch
        {
            EventKind.Log => $"log: template {Template}",
            EventKind.Serves => $"serves: {Name}",
            _ => $"calls: {Name}",
        };
}

/// <summary>
/// Per-cluster memory the trace evidence needs across windows, each part bounded: the recent durations of each
/// (service, operation) for a latency threshold of its own, the mean count per window of each (service, event),
/// and when each log template was first seen.
/// </summary>
internal sealed class TraceBaselines
{
    /// <summary>Durations kept per (service, operation): enough for a p99 that is not one outlier.</summary>
    public const int DurationsPerOperation = 128;

    /// <summary>Child counts kept per (service, operation), all needed before a span can be called cut short: few
    /// enough that a quiet operation has them within minutes, and that a restarted engine's replayed lag holds the
    /// same ones.</summary>
    public const int ChildCountsPerOperation = 32;

    /// <summary>Operations, and events, remembered per cluster; past the cap the least recently seen tenth of them
    /// is forgotten to make room.</summary>
    public const int MaxKeys = 50_000;

    /// <summary>Windows an event's mean count needs before a change in it counts.</summary>
    public const int MinEventWindows = 4;

    /// <summary>A span is slow when it takes this many times its operation's p99 (plus 5 ms, so sub-millisecond noise
    /// is not).</summary>
    public const double SlowFactor = 2;

    /// <summary>A count z-score beyond this is a shifted event.</summary>
    public const double ShiftZ = 2;
    private const double EventDecay = 0.1; // ≈ the last 10–20 windows

    private readonly Dictionary<(string Service, string Operation), DurationRing> _durations = [];
    private readonly Dictionary<string, Dictionary<EventKey, EventMean>> _events = new(StringComparer.Ordinal);
    private int _eventKeys;
    public int Windows { get; private set; }

    internal sealed class EventMean
    {
        public double Mean;
        public int Windows;
        public int LastSeen; // the window it last occurred in
    }

    public double SlowThresholdMs(string service, string operation) =>
        _durations.TryGetValue((service, operation), out var ring) ? ring.Threshold : double.PositiveInfinity;

    /// <summary>The fewest children (calls, inner spans, log lines) a recent whole span of the operation had; 0
    /// (nothing is fewer) until it has enough history.</summary>
    public int MinChildren(string service, string operation) =>
        _durations.TryGetValue((service, operation), out var ring) ? ring.MinChildren : 0;

    /// <summary>The event's mean count per window and how many windows that mean has seen (0 when never
    /// seen).</summary>
    public (double Mean, int Windows) Event(string service, EventKey key) =>
        _events.TryGetValue(service, out var events) && events.TryGetValue(key, out var e)
            ? (e.Mean, e.Windows)
            : (0, 0);

    /// <summary>The services with known events, and each one's events with their means.</summary>
    public IEnumerable<(string Service, IReadOnlyDictionary<EventKey, EventMean> Events)> KnownEvents() =>
        _events.Select(p => (p.Key, (IReadOnlyDictionary<EventKey, EventMean>)p.Value));

    /// <summary>Operations and events remembered.</summary>
    public int Keys => _durations.Count + _eventKeys;

    /// <summary>Forgets a service's operations and events (a service gone silent).</summary>
    public void Forget(string service)
    {
        foreach (var key in _durations.Keys.Where(k => k.Service == service).ToList())
            _durations.Remove(key);
        if (_events.Remove(service, out var events))
            _eventKeys -= events.Count;
    }

    /// <summary>Learns one closed window: its span durations and child counts (-1: the span ran past the window, so
    /// its children are not all in it) and every event's count (0 for known events it lacked).</summary>
    public void Learn(
        IEnumerable<(string Service, string Operation, double DurationMs, int Children)> spans,
        Dictionary<(string Service, EventKey Key), int> eventCounts
    )
    {
        Windows++;
        foreach (var (service, op, ms, children) in spans)
        {
            if (!_durations.TryGetValue((service, op), out var ring))
            {
                if (_durations.Count >= MaxKeys)
                    foreach (var key in LeastRecent(_durations, r => r.LastSeen))
                        _durations.Remove(key);
                _durations[(service, op)] = ring = new DurationRing();
            }
            ring.Add(ms, children);
            ring.LastSeen = Windows;
        }
        foreach (var (_, events) in _events)
        foreach (var (_, e) in events)
        {
            e.Mean -= EventDecay * e.Mean;
            e.Windows++;
        }
        foreach (var ((service, key), count) in eventCounts)
        {
            if (!_events.TryGetValue(service, out var events))
                _events[service] = events = [];
            if (events.TryGetValue(key, out var e))
            {
                e.Mean += EventDecay * count; // decayed above, so mean += α(count − mean)
                if (count > 0)
                    e.LastSeen = Windows;
            }
            else
            {
                if (_eventKeys >= MaxKeys)
                    ForgetLeastRecentEvents();
                // Seen for the first time: in the first window that is its level; later it was 0 until now.
                events[key] = new EventMean
                {
                    Mean = Windows <= 1 ? count : EventDecay * count,
                    Windows = 1,
                    LastSeen = Windows,
                };
                _eventKeys++;
            }
        }
    }

    /// <summary>The least recently seen tenth of <paramref name="map"/>'s keys (evicted in one go, so a stream of new
    /// keys past the cap costs one sort per tenth, not a scan per key).</summary>
    private static List<TKey> LeastRecent<TKey, TValue>(Dictionary<TKey, TValue> map, Func<TValue, int> lastSeen)
        where TKey : notnull =>
        map.OrderBy(p => lastSeen(p.Value)).Take(Math.Max(1, map.Count / 10)).Select(p => p.Key).ToList();

    private void ForgetLeastRecentEvents()
    {
        var all = _events.SelectMany(s => s.Value.Select(e => (Service: s.Key, Key: e.Key, e.Value.LastSeen)));
        foreach (var (service, key, _) in all.OrderBy(e => e.LastSeen).Take(Math.Max(1, _eventKeys / 10)).ToList())
        {
            _events[service].Remove(key);
            _eventKeys--;
        }
    }

    /// <summary>An operation's recent spans: their durations, and their child counts for the fewest a whole span
    /// had.</summary>
    private sealed class DurationRing
    {
        private readonly float[] _values = new float[DurationsPerOperation];
        private readonly short[] _children = new short[ChildCountsPerOperation];
        public int LastSeen; // the window of its latest span
        private int _count,
            _next,
            _childCount,
            _nextChild;
        private double _threshold = double.PositiveInfinity;
        private bool _dirty,
            _childrenDirty;
        private int _minChildren;

        public void Add(double ms, int children)
        {
            _values[_next] = (float)ms;
            _next = (_next + 1) % _values.Length;
            _count = Math.Min(_count + 1, _values.Length);
            _dirty = true;
            if (children < 0)
                return;
            _children[_nextChild] = (short)Math.Min(children, short.MaxValue);
            _nextChild = (_nextChild + 1) % _children.Length;
            _childCount = Math.Min(_childCount + 1, _children.Length);
            _childrenDirty = true;
        }

        /// <summary>The fewest children of the last <see cref="ChildCountsPerOperation"/> whole spans, when the
        /// operation has a usual shape (all but two of them had the same count); else 0, so nothing is fewer: an
        /// operation whose calls are optional or whose lines are sampled varies in shape without any fault.</summary>
        public int MinChildren
        {
            get
            {
                if (!_childrenDirty)
                    return _minChildren;
                _childrenDirty = false;
                if (_childCount < _children.Length)
                    return _minChildren = 0;
                Span<short> sorted = stackalloc short[_childCount];
                _children.AsSpan(0, _childCount).CopyTo(sorted);
                sorted.Sort();
                int longest = 1,
                    run = 1;
                for (int i = 1; i < sorted.Length; i++)
                {
                    run = sorted[i] == sorted[i - 1] ? run + 1 : 1;
                    longest = Math.Max(longest, run);
                }
                return _minChildren = longest >= sorted.Length - 2 ? sorted[0] : 0;
            }
        }

        public double Threshold
        {
            get
            {
                if (!_dirty)
                    return _threshold;
                _dirty = false;
                if (_count < 20)
                    return _threshold = double.PositiveInfinity;
                Span<float> sorted = stackalloc float[_count];
                _values.AsSpan(0, _count).CopyTo(sorted);
                sorted.Sort();
                return _threshold = SlowFactor * sorted[(int)(0.99 * (_count - 1))] + 5;
            }
        }
    }
}

/// <summary>
/// Assembles one window's spans and trace-linked log lines into per-trace anomalies and scores each service
/// from them (<see cref="TraceEvidenceStats"/>).
/// </summary>
/// <remarks>
/// A server span is anomalous when it failed (error status), when a warn/error line of a never-seen or surging
/// template was written in it (log–trace linkage), when it took far longer than its own (service, operation)
/// usually does, or when it was cut short: fewer calls, inner spans and lines than any recent span of an
/// operation with one usual shape (an exception thrown part-way skips the rest of the handler; the root of a
/// fault that only its callers log shows itself this way). A trace is anomalous when any of its server spans
/// is. Its deepest anomalies are the anomalous spans with no anomalous span below them; the services at or
/// below them are what the trace can blame — the gateway above every failing request is not. Across the
/// window's traces, spectrum-based fault localisation (Ochiai, as MicroRank and TraceRCA use it) scores how
/// specific a service is to the anomalous ones.
/// </remarks>
internal sealed class WindowTraces
{
    private readonly Dictionary<string, ServerSpan> _server = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _parentOf = new(StringComparer.Ordinal); // any span → its parent
    private readonly List<(string Service, string? TraceId, string? SpanId, int Template, bool Problem)> _lines = [];
    private readonly Dictionary<(string, EventKey), int> _events = [];

    private sealed class ServerSpan(
        string service,
        string traceId,
        string operation,
        long startMs,
        double durationMs,
        bool error
    )
    {
        public readonly string Service = service,
            TraceId = traceId,
            Operation = operation;
        public readonly long StartMs = startMs;
        public readonly double DurationMs = durationMs;
        public readonly bool Error = error;
        public int Children; // its calls, inner spans and log lines (see CountChildren)
        public bool Anomalous = error;
        public bool AnomalyBelow;
        public ServerSpan? Parent;
    }

    public void AddSpan(SpanRecord span)
    {
        if (span.ParentSpanId is { } parent)
            _parentOf[span.SpanId] = parent;
        if (span.Kind is SpanKind.Server or SpanKind.Consumer)
        {
            _server[span.SpanId] = new ServerSpan(
                span.Service,
                span.TraceId,
                span.Operation,
                span.TimestampMs,
                span.DurationMs,
                span.IsError
            );
            Count(span.Service, new EventKey(EventKind.Serves, span.Operation, 0));
        }
        else if (span.Kind is SpanKind.Client or SpanKind.Producer && span.PeerService is { Length: > 0 } peer)
            Count(span.Service, new EventKey(EventKind.Calls, peer, 0));
    }

    public void AddLog(LogRecord log, int template)
    {
        Count(log.Service, new EventKey(EventKind.Log, null, template));
        _lines.Add((log.Service, log.TraceId, log.SpanId, template, log.Severity >= LogSeverity.Warn));
    }

    private void Count(string service, EventKey key) =>
        _events[(service, key)] = _events.GetValueOrDefault((service, key)) + 1;

    /// <summary>
    /// Calls seen only as a server span nested under another service's server span (no client span recorded,
    /// as with server-side-only instrumentation): caller, callee, the callee's duration and error status.
    /// </summary>
    public IEnumerable<(string Caller, string Callee, double DurationMs, bool Error)> NestedCalls() =>
        _server
            .Values.Where(s => s.Parent is not null && s.Parent.Service != s.Service)
            .Select(s => (s.Parent!.Service, s.Service, s.DurationMs, s.Error));

    /// <summary>Scores the window's services into their stats, then teaches the baselines this window.</summary>
    /// <param name="endMs">The window's end: a span that ran past it may have children in the next window, so its
    /// child count says nothing.</param>
    public void Close(
        Func<string, ServiceWindowStats> statsOf,
        TraceBaselines baselines,
        Func<string, int, bool> isNovelTemplate,
        long endMs
    )
    {
        bool trusted = baselines.Windows >= TraceBaselines.MinEventWindows;
        var shifted = new HashSet<(string, EventKey)>();
        if (trusted)
            ScoreEvents(statsOf, baselines, shifted);

        // Mark anomalous server spans: error status (already), slow for their operation, cut short, or a shifted
        // problem line.
        CountChildren();
        foreach (var s in _server.Values)
        {
            if (s.DurationMs > baselines.SlowThresholdMs(s.Service, s.Operation))
            {
                s.Anomalous = true;
                statsOf(s.Service).Evidence.SlowSpans++;
            }
            if (Whole(s, endMs) && s.Children < baselines.MinChildren(s.Service, s.Operation))
            {
                s.Anomalous = true;
                statsOf(s.Service).Evidence.TruncatedSpans++;
            }
        }
        var anomalousTraces = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (service, traceId, spanId, template, problem) in _lines)
        {
            if (!problem || traceId is null)
                continue;
            var evidence = statsOf(service).Evidence;
            evidence.LinkedErrorLines++;
            bool surprising =
                isNovelTemplate(service, template)
                || shifted.Contains((service, new EventKey(EventKind.Log, null, template)));
            if (!surprising)
                continue;
            evidence.ShiftedErrorLines++;
            if (spanId is not null && EnclosingServer(spanId, service) is { } span)
                span.Anomalous = true;
            else
                anomalousTraces.Add(traceId); // linked to the trace only: it is anomalous, no span to blame
        }

        // Parents across services, then which anomalous spans have an anomalous span below them.
        foreach (var (id, s) in _server)
            s.Parent = ServerAbove(id);
        foreach (var s in _server.Values)
            if (s.Anomalous)
            {
                anomalousTraces.Add(s.TraceId);
                for (var p = s.Parent; p is not null && !p.AnomalyBelow; p = p.Parent)
                    p.AnomalyBelow = true;
            }

        // Per trace: the services at or below its deepest anomalies (blamable), or all of it when normal.
        long anomalousCount = anomalousTraces.Count;
        var deepest = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var trace in _server.Values.GroupBy(s => s.TraceId))
        {
            bool anomalous = anomalousTraces.Contains(trace.Key);
            var services = new HashSet<string>(StringComparer.Ordinal);
            if (!anomalous)
                foreach (var s in trace)
                    services.Add(s.Service);
            else
            {
                var roots = trace.Where(s => s.Anomalous && !s.AnomalyBelow).ToList();
                foreach (var r in roots)
                    deepest[r.Service] = deepest.GetValueOrDefault(r.Service) + 1.0 / roots.Count;
                // Services at or below a deepest anomaly: walk each span up to see whether it passes one.
                foreach (var s in trace)
                    for (var p = s; p is not null; p = p.Parent)
                        if (p.Anomalous && !p.AnomalyBelow)
                        {
                            services.Add(s.Service);
                            break;
                        }
                if (roots.Count == 0)
                    foreach (var s in trace)
                        services.Add(s.Service); // linked only to the trace
            }
            foreach (var service in services)
            {
                var e = statsOf(service).Evidence;
                if (anomalous)
                    e.AnomalousTraces++;
                else
                    e.NormalTraces++;
            }
        }
        foreach (var service in _server.Values.Select(s => s.Service).Distinct())
        {
            var e = statsOf(service).Evidence;
            e.WindowAnomalousTraces = anomalousCount;
            e.Spectrum =
                e.AnomalousTraces == 0
                    ? 0
                    : e.AnomalousTraces / Math.Sqrt((double)anomalousCount * (e.AnomalousTraces + e.NormalTraces));
            e.DeepestShare = anomalousCount == 0 ? 0 : deepest.GetValueOrDefault(service) / anomalousCount;
        }

        // Learn from spans that were not anomalous, so a fault does not raise its own threshold.
        baselines.Learn(
            _server
                .Values.Where(s => !s.Anomalous)
                .Select(s => (s.Service, s.Operation, s.DurationMs, Whole(s, endMs) ? s.Children : -1)),
            _events
        );
    }

    private static bool Whole(ServerSpan s, long endMs) => s.StartMs + s.DurationMs < endMs;

    /// <summary>Counts each server span's children: every span (client, inner, or a callee's server span recorded
    /// without a client span) whose nearest server span above it is that one, and the log lines written in it. A
    /// request whose handler threw part-way lacks the calls, queries and lines that followed.</summary>
    private void CountChildren()
    {
        foreach (var (_, parent) in _parentOf)
            if (NearestServer(parent) is { } server)
                server.Children++;
        foreach (var (service, _, spanId, _, _) in _lines)
            if (spanId is not null && EnclosingServer(spanId, service) is { } server)
                server.Children++;
    }

    /// <summary>Each service's largest event rise and fall against its baseline; marks the shifted (rising)
    /// events.</summary>
    private void ScoreEvents(
        Func<string, ServiceWindowStats> statsOf,
        TraceBaselines baselines,
        HashSet<(string, EventKey)> shifted
    )
    {
        foreach (var ((service, key), count) in _events)
        {
            var (mean, windows) = baselines.Event(service, key);
            double z = FeatureSchema.CountZ(count, windows == 0 ? 0 : mean);
            var e = statsOf(service).Evidence;
            if (z > e.EventRise)
            {
                e.EventRise = z;
                e.TopEvent = key.ToString();
            }
            if (z >= TraceBaselines.ShiftZ)
                shifted.Add((service, key));
        }
        // Events that vanished: known ones with a mean count the window did not reach (a silent service's too).
        foreach (var (service, events) in baselines.KnownEvents())
        {
            ServiceWindowStats? stats = null;
            foreach (var (key, e) in events)
            {
                if (e.Windows < TraceBaselines.MinEventWindows || _events.ContainsKey((service, key)))
                    continue;
                double fall = -FeatureSchema.CountZ(0, e.Mean);
                if (fall <= 0)
                    continue;
                stats ??= statsOf(service);
                stats.Evidence.EventFall = Math.Max(stats.Evidence.EventFall, fall);
            }
        }
    }

    /// <summary>The server span of <paramref name="service"/> that encloses a span (a log line's span may be an inner
    /// one).</summary>
    private ServerSpan? EnclosingServer(string spanId, string service) =>
        NearestServer(spanId) is { } s && s.Service == service ? s : null;

    /// <summary>The nearest server span above a server span (its caller's), through client and internal
    /// spans.</summary>
    private ServerSpan? ServerAbove(string spanId) =>
        _parentOf.TryGetValue(spanId, out var parent) ? NearestServer(parent) : null;

    /// <summary>The server span a span is, or the nearest one above it through client and internal spans.</summary>
    private ServerSpan? NearestServer(string spanId)
    {
        for (int hops = 0; hops < 64; hops++)
        {
            if (_server.TryGetValue(spanId, out var s))
                return s;
            if (!_parentOf.TryGetValue(spanId, out var parent))
                return null;
            spanId = parent;
        }
        return null;
    }
}
