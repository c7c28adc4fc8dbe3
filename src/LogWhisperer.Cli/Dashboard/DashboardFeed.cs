using System.Text.Json;
using System.Threading.Channels;
using LogWhisperer.Explain;
using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Scoring;
using LogWhisperer.Sinks;

namespace LogWhisperer.Cli.Dashboard;

/// <summary>The latest scored graph of one cluster, as the dashboard draws it.</summary>
/// <param name="Edges">Call edges as [caller index, callee index] into <paramref name="Services"/>.</param>
/// <param name="Scores">Live root-cause probability per service.</param>
/// <param name="Heat">Per service, how loud its loudest symptom is (σ, or a scaled share; ≥ 3 is a symptom).</param>
/// <param name="Symptoms">Per service, that symptom in words.</param>
public sealed record GraphView(
    string Cluster,
    long WindowStart,
    long WindowEnd,
    double IncidentProbability,
    string[] Services,
    double[] Scores,
    int[][] Edges,
    double[] Heat,
    string[] Symptoms
)
{
    public static GraphView From(ScoredSnapshot scored)
    {
        var s = scored.Snapshot;
        var sources = s.EdgeSources.ToArray();
        var targets = s.EdgeTargets.ToArray();
        var symptoms = Enumerable.Range(0, s.NodeCount).Select(i => Explainer.LoudestSymptom(s, i)).ToArray();
        return new GraphView(
            s.Cluster,
            s.WindowStartMs,
            s.WindowEndMs,
            Math.Round(scored.IncidentProbability, 4),
            s.Services(),
            scored.RootProbability.Select(p => Math.Round((double)p, 4)).ToArray(),
            sources.Select((src, i) => new[] { src, targets[i] }).ToArray(),
            symptoms.Select(x => Math.Round(x.Strength, 1)).ToArray(),
            symptoms.Select(x => x.Symptom).ToArray()
        );
    }
}

/// <summary>One measurement of one service in one window: its value and its baseline (null where unknown).</summary>
public sealed record MeasurementPoint(long WindowEnd, double? Value, double? Baseline);

/// <summary>A measurement that drove a verdict, in the windows before its incident opened.</summary>
public sealed record MeasurementSeries(string Service, string Measurement, MeasurementPoint[] Points);

/// <summary>The evidence of an incident's first window as it was before the incident: what the console's sparklines
/// start with.</summary>
public sealed record EvidenceBefore(string Incident, string Cluster, MeasurementSeries[] Series);

/// <summary>
/// What the dashboard shows, fed by the pipeline's hooks: <see cref="OnScored"/> keeps each cluster's latest
/// graph, and as an <see cref="IRcaSink"/> (teed beside the real sink) it keeps the last RCA events. Every
/// change is also pushed to the subscribed server-sent-event streams. Slow subscribers lose their oldest
/// messages rather than slowing the pipeline down.
/// </summary>
/// <remarks>
/// Events are emitted for incident windows only, so the values of an incident's evidence before it began are
/// in no event: the feed keeps each cluster's last <see cref="RecentWindows"/> scored snapshots (references, no
/// copy) and, when an incident's first event arrives, reads its evidence measurements from the windows before it
/// (<see cref="EvidenceBefore"/>, the SSE message <c>before</c>). More than <see cref="BeforeWindows"/> are kept
/// because the pipeline scores later windows while the sinks still handle earlier ones.
/// </remarks>
public sealed class DashboardFeed(int eventCapacity = 100) : IRcaSink
{
    /// <summary>Windows before an incident shown in its evidence sparklines (3 minutes of 30 s windows).</summary>
    public const int BeforeWindows = 6;
    private const int RecentWindows = 16,
        IncidentCapacity = 200;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, GraphView> _graphs = [];
    private readonly Dictionary<string, Queue<GraphSnapshot>> _recent = [];
    private readonly Dictionary<string, EvidenceBefore> _before = [];
    private readonly Queue<string> _beforeOrder = [];
    private readonly LinkedList<RcaEvent> _events = []; // newest first
    private readonly List<Channel<string>> _subscribers = [];

    public void OnScored(ScoredSnapshot scored)
    {
        var view = GraphView.From(scored);
        lock (_lock)
        {
            _graphs[view.Cluster] = view;
            if (!_recent.TryGetValue(view.Cluster, out var recent))
                _recent[view.Cluster] = recent = new Queue<GraphSnapshot>();
            recent.Enqueue(scored.Snapshot);
            while (recent.Count > RecentWindows)
                recent.Dequeue();
        }
        Broadcast("graph", JsonSerializer.Serialize(view, Json));
    }

    public ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
    {
        EvidenceBefore? before = null;
        lock (_lock)
        {
            _events.AddFirst(rca);
            while (_events.Count > eventCapacity)
                _events.RemoveLast();
            if (rca.Incident is { } incident && !_before.ContainsKey(incident.Id))
            {
                before = _before[incident.Id] = Before(incident.Id, rca);
                _beforeOrder.Enqueue(incident.Id);
                while (_beforeOrder.Count > IncidentCapacity)
                    _before.Remove(_beforeOrder.Dequeue());
            }
        }
        if (before is not null)
            Broadcast("before", JsonSerializer.Serialize(before, Json));
        Broadcast("rca", rca.ToJson());
        return ValueTask.CompletedTask;
    }

    /// <summary>The event's evidence measurements in the cluster's last <see cref="BeforeWindows"/> windows that ended
    /// before its window began.</summary>
    private EvidenceBefore Before(string incident, RcaEvent rca)
    {
        long start = rca.WindowStart.ToUnixTimeMilliseconds();
        var windows = _recent.TryGetValue(rca.Cluster, out var recent)
            ? recent.Where(s => s.WindowEndMs <= start).OrderBy(s => s.WindowEndMs).TakeLast(BeforeWindows).ToArray()
            : [];
        var series = new List<MeasurementSeries>();
        foreach (var f in rca.Evidence.Features)
        {
            if (FeatureSchema.Measurements.FirstOrDefault(m => m.Name == f.Measurement) is not { } m)
                continue;
            var points = windows
                .Select(s =>
                    s.IndexOf(f.Service) is var node and >= 0
                        ? new MeasurementPoint(
                            s.WindowEndMs,
                            Finite(s.Measurement(node, m.Id)),
                            Finite(s.Baseline(node, m.Id))
                        )
                        : new MeasurementPoint(s.WindowEndMs, null, null)
                )
                .ToArray();
            series.Add(new MeasurementSeries(f.Service, f.Measurement, points));
        }
        return new EvidenceBefore(incident, rca.Cluster, series.ToArray());
    }

    private static double? Finite(double v) => double.IsFinite(v) ? Math.Round(v, 4) : null;

    public string GraphsJson()
    {
        lock (_lock)
            return JsonSerializer.Serialize(_graphs.Values.OrderBy(g => g.Cluster, StringComparer.Ordinal), Json);
    }

    /// <summary>The latest events, newest first, as a JSON array of v1 events.</summary>
    public string EventsJson(int limit)
    {
        RcaEvent[] events;
        lock (_lock)
            events = _events.Take(limit).ToArray();
        return "[" + string.Join(",", events.Select(e => e.ToJson())) + "]";
    }

    /// <summary>The current state as SSE messages: every cluster's graph, the incidents' evidence before they began,
    /// then the recent events oldest first.</summary>
    public string Replay()
    {
        GraphView[] graphs;
        RcaEvent[] events;
        EvidenceBefore[] before;
        lock (_lock)
        {
            graphs = _graphs.Values.ToArray();
            events = _events.Reverse().ToArray();
            before = _before.Values.ToArray();
        }
        var sb = new System.Text.StringBuilder();
        foreach (var g in graphs)
            sb.Append(Message("graph", JsonSerializer.Serialize(g, Json)));
        foreach (var b in before)
            sb.Append(Message("before", JsonSerializer.Serialize(b, Json)));
        foreach (var e in events)
            sb.Append(Message("rca", e.ToJson()));
        return sb.ToString();
    }

    /// <summary>A stream of ready-to-send SSE messages; dispose the subscription to end it.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<string>(
            new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true }
        );
        lock (_lock)
            _subscribers.Add(channel);
        return new Subscription(this, channel);
    }

    public int Subscribers
    {
        get
        {
            lock (_lock)
                return _subscribers.Count;
        }
    }

    private void Broadcast(string eventName, string json)
    {
        var message = Message(eventName, json);
        lock (_lock)
            foreach (var s in _subscribers)
                s.Writer.TryWrite(message);
    }

    // SSE framing: JSON from System.Text.Json is one line (newlines inside strings are escaped).
    private static string Message(string eventName, string json) => $"event: {eventName}\ndata: {json}\n\n";

    public sealed class Subscription(DashboardFeed feed, Channel<string> channel) : IDisposable
    {
        public ChannelReader<string> Messages => channel.Reader;

        public void Dispose()
        {
            lock (feed._lock)
                feed._subscribers.Remove(channel);
            channel.Writer.TryComplete();
        }
    }
}
