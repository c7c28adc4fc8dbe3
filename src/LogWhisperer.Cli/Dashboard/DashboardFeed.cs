using System.Text.Json;
using System.Threading.Channels;
using LogWhisperer.Explain;
using LogWhisperer.Scoring;
using LogWhisperer.Sinks;

namespace LogWhisperer.Cli.Dashboard;

/// <summary>The latest scored graph of one cluster, as the dashboard draws it.</summary>
/// <param name="Edges">Call edges as [caller index, callee index] into <paramref name="Services"/>.</param>
/// <param name="Scores">Live root-cause probability per service.</param>
/// <param name="Heat">Per service, how loud its loudest symptom is (σ, or a scaled share; ≥ 3 is a symptom).</param>
/// <param name="Symptoms">Per service, that symptom in words.</param>
public sealed record GraphView(string Cluster, long WindowStart, long WindowEnd, double IncidentProbability, string[] Services, double[] Scores, int[][] Edges,
    double[] Heat, string[] Symptoms)
{
    public static GraphView From(ScoredSnapshot scored)
    {
        var s = scored.Snapshot;
        var sources = s.EdgeSources.ToArray();
        var targets = s.EdgeTargets.ToArray();
        var symptoms = Enumerable.Range(0, s.NodeCount).Select(i => Explainer.LoudestSymptom(s, i)).ToArray();
        return new GraphView(s.Cluster, s.WindowStartMs, s.WindowEndMs, Math.Round(scored.IncidentProbability, 4), s.Services(),
            scored.RootProbability.Select(p => Math.Round((double)p, 4)).ToArray(), sources.Select((src, i) => new[] { src, targets[i] }).ToArray(),
            symptoms.Select(x => Math.Round(x.Strength, 1)).ToArray(), symptoms.Select(x => x.Symptom).ToArray());
    }
}

/// <summary>
/// What the dashboard shows, fed by the pipeline's hooks: <see cref="OnScored"/> keeps each cluster's latest
/// graph, and as an <see cref="IRcaSink"/> (teed beside the real sink) it keeps the last RCA events. Every
/// change is also pushed to the subscribed server-sent-event streams. Slow subscribers lose their oldest
/// messages rather than slowing the pipeline down.
/// </summary>
public sealed class DashboardFeed(int eventCapacity = 100) : IRcaSink
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, GraphView> _graphs = [];
    private readonly LinkedList<RcaEvent> _events = []; // newest first
    private readonly List<Channel<string>> _subscribers = [];

    public void OnScored(ScoredSnapshot scored)
    {
        var view = GraphView.From(scored);
        lock (_lock) _graphs[view.Cluster] = view;
        Broadcast("graph", JsonSerializer.Serialize(view, Json));
    }

    public ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _events.AddFirst(rca);
            while (_events.Count > eventCapacity) _events.RemoveLast();
        }
        Broadcast("rca", rca.ToJson());
        return ValueTask.CompletedTask;
    }

    public string GraphsJson() { lock (_lock) return JsonSerializer.Serialize(_graphs.Values.OrderBy(g => g.Cluster, StringComparer.Ordinal), Json); }

    /// <summary>The latest events, newest first, as a JSON array of v1 events.</summary>
    public string EventsJson(int limit)
    {
        RcaEvent[] events;
        lock (_lock) events = _events.Take(limit).ToArray();
        return "[" + string.Join(",", events.Select(e => e.ToJson())) + "]";
    }

    /// <summary>The current state as SSE messages: every cluster's graph, then the recent events oldest first.</summary>
    public string Replay()
    {
        GraphView[] graphs;
        RcaEvent[] events;
        lock (_lock) { graphs = _graphs.Values.ToArray(); events = _events.Reverse().ToArray(); }
        var sb = new System.Text.StringBuilder();
        foreach (var g in graphs) sb.Append(Message("graph", JsonSerializer.Serialize(g, Json)));
        foreach (var e in events) sb.Append(Message("rca", e.ToJson()));
        return sb.ToString();
    }

    /// <summary>A stream of ready-to-send SSE messages; dispose the subscription to end it.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock) _subscribers.Add(channel);
        return new Subscription(this, channel);
    }

    public int Subscribers { get { lock (_lock) return _subscribers.Count; } }

    private void Broadcast(string eventName, string json)
    {
        var message = Message(eventName, json);
        lock (_lock) foreach (var s in _subscribers) s.Writer.TryWrite(message);
    }

    // SSE framing: JSON from System.Text.Json is one line (newlines inside strings are escaped).
    private static string Message(string eventName, string json) => $"event: {eventName}\ndata: {json}\n\n";

    public sealed class Subscription(DashboardFeed feed, Channel<string> channel) : IDisposable
    {
        public ChannelReader<string> Messages => channel.Reader;

        public void Dispose()
        {
            lock (feed._lock) feed._subscribers.Remove(channel);
            channel.Writer.TryComplete();
        }
    }
}
