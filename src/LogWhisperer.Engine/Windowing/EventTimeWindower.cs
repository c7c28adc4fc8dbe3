using LogWhisperer.Features.Logs;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Windowing;

/// <summary>
/// Assigns records to event-time windows per cluster and emits each window once the cluster's watermark
/// has passed it. Keeps one accumulator per open window, so memory is bounded by the window span, not by
/// the stream.
/// </summary>
public sealed class EventTimeWindower
{
    private readonly WindowOptions _options;
    private readonly PipelineCounters _counters;
    private readonly IDeadLetterSink _deadLetters;
    private readonly Dictionary<string, ClusterWindows> _clusters = new(StringComparer.Ordinal);

    public EventTimeWindower(WindowOptions options, PipelineCounters counters, IDeadLetterSink deadLetters)
    {
        options.Validate();
        _options = options;
        _counters = counters;
        _deadLetters = deadLetters;
    }

    private sealed class ClusterWindows
    {
        public readonly SortedDictionary<long, WindowAccumulator> Open = [];
        public long MaxEventMs = long.MinValue;

        /// <summary>End of the latest window already emitted: anything before it is too late.</summary>
        public long EmittedUpToMs = long.MinValue;

        /// <summary>Drain templates per service of this cluster. They outlive windows: a template's id says
        /// "seen before" to the featurizer, which is how a never-seen error template stands out.</summary>
        public readonly TemplateMiner Templates = new();

        /// <summary>Per-operation latency and per-event count baselines for the windows' trace evidence.</summary>
        public readonly TraceBaselines Traces = new();

        /// <summary>When each template first appeared, for templates born after the cluster's warm-up
        /// (bounded).</summary>
        public readonly Dictionary<(string Service, int Template), long> NewTemplatesSeenMs = [];

        /// <summary>Services seen in this cluster, to tell an error line about the service itself from one about a
        /// peer.</summary>
        public readonly ServiceNames Services = new();
        public long FirstEventMs = long.MinValue;

        /// <summary>End of the newest emitted window that held each service, to forget services gone
        /// silent.</summary>
        public readonly Dictionary<string, long> ServiceSeenMs = new(StringComparer.Ordinal);

        /// <summary>A template is news for <see cref="NoveltyMs"/> after it first appears, unless it appeared
        /// while the cluster was still learning (everything is new then).</summary>
        public bool IsNovel(string service, int template, long nowMs) =>
            NewTemplatesSeenMs.TryGetValue((service, template), out var first) && nowMs - first <= NoveltyMs;
    }

    /// <summary>How long a newly born template counts as never seen before.</summary>
    private const long NoveltyMs = 10 * 60_000;

    /// <summary>Templates born within this long of a cluster's first record are its vocabulary, not news.</summary>
    private const long TemplateWarmupMs = 3 * 60_000;
    private const int MaxNewTemplates = 10_000;

    /// <summary>Adds a batch; appends every window the advanced watermarks have closed to
    /// <paramref name="closed"/>.</summary>
    public void Add(IReadOnlyList<TelemetryRecord> batch, List<WindowAggregate> closed)
    {
        foreach (var record in batch)
            Add(record);
        foreach (var (_, cluster) in _clusters)
            CloseReady(cluster, closed);
    }

    private void Add(TelemetryRecord record)
    {
        if (!_clusters.TryGetValue(record.Cluster, out var cluster))
            _clusters[record.Cluster] = cluster = new ClusterWindows();
        long ts = record.TimestampMs;
        if (ts < cluster.EmittedUpToMs)
        {
            _counters.CountLateDropped();
            _deadLetters.Write(
                DeadLetter.For(
                    "window",
                    DeadLetterCode.Late,
                    $"window ending {cluster.EmittedUpToMs} already emitted",
                    record
                )
            );
            return;
        }
        if (cluster.MaxEventMs != long.MinValue && ts < cluster.MaxEventMs - _options.MaxOutOfOrdernessMs)
            _counters.CountLateAccepted();
        if (ts > cluster.MaxEventMs)
            cluster.MaxEventMs = ts;

        if (cluster.FirstEventMs == long.MinValue || ts < cluster.FirstEventMs)
            cluster.FirstEventMs = ts;
        // Mined once per record, however many (hopping) windows it falls into.
        int template = 0;
        bool namesPeer = false;
        cluster.Services.Observe(record.Service);
        if (record is SpanRecord { PeerService: { Length: > 0 } peer })
            cluster.Services.Observe(peer);
        if (record is LogRecord log)
        {
            template = cluster.Templates.Parse(log.Service, log.Message, out bool isNew).Id;
            namesPeer = log.Severity >= LogSeverity.Error && cluster.Services.NamesAnother(log.Message, log.Service);
            if (isNew && ts - cluster.FirstEventMs >= TemplateWarmupMs)
            {
                if (cluster.NewTemplatesSeenMs.Count >= MaxNewTemplates)
                    ForgetOldNews(cluster, ts);
                if (cluster.NewTemplatesSeenMs.Count < MaxNewTemplates)
                    cluster.NewTemplatesSeenMs[(log.Service, template)] = ts;
            }
        }
        // Every window [s, s+size) with s = k*hop and s <= ts < s+size.
        long lastStart = FloorTo(ts, _options.HopMs);
        for (long start = lastStart; start > ts - _options.SizeMs; start -= _options.HopMs)
        {
            if (start < cluster.EmittedUpToMs)
                break; // that window has been emitted
            if (!cluster.Open.TryGetValue(start, out var window))
                cluster.Open[start] = window = new WindowAccumulator(record.Cluster, start, start + _options.SizeMs);
            window.Add(record, template, namesPeer);
        }
    }

    private void CloseReady(ClusterWindows cluster, List<WindowAggregate> closed)
    {
        if (cluster.MaxEventMs == long.MinValue)
            return;
        long watermark = cluster.MaxEventMs - _options.MaxOutOfOrdernessMs;
        while (cluster.Open.Count > 0)
        {
            var first = cluster.Open.First();
            if (first.Value.EndMs + _options.AllowedLatenessMs > watermark)
                break;
            Emit(cluster, first.Key, closed);
        }
    }

    /// <summary>What the cluster remembers across windows, for tests of its bounds: services, template miners,
    /// trace-baseline keys and template news.</summary>
    internal (int Services, int Parsers, int TraceKeys, int News) Remembered(string cluster) =>
        _clusters.TryGetValue(cluster, out var c)
            ? (c.ServiceSeenMs.Count, c.Templates.Parsers.Count, c.Traces.Keys, c.NewTemplatesSeenMs.Count)
            : default;

    /// <summary>End of stream: emits every open window (graceful drain).</summary>
    public void Flush(List<WindowAggregate> closed)
    {
        foreach (var (_, cluster) in _clusters)
            while (cluster.Open.Count > 0)
                Emit(cluster, cluster.Open.First().Key, closed);
    }

    private void Emit(ClusterWindows cluster, long start, List<WindowAggregate> closed)
    {
        var window = cluster.Open[start];
        cluster.Open.Remove(start);
        // With hopping windows, records before the next window's start may still be needed by it.
        cluster.EmittedUpToMs = Math.Max(cluster.EmittedUpToMs, window.EndMs - _options.SizeMs + _options.HopMs);
        var aggregate = window.Close(
            cluster.Traces,
            (service, template) => cluster.IsNovel(service, template, window.EndMs)
        );
        closed.Add(aggregate);
        ForgetSilentServices(cluster, aggregate);
    }

    /// <summary>Forgets what the cluster keeps per service for services its windows have not held for
    /// <see cref="WindowOptions.ForgetServiceAfterMs"/>, unless a window still open holds them. The featurizer applies
    /// the same rule to the same windows, so both forget a service at once.</summary>
    private void ForgetSilentServices(ClusterWindows cluster, WindowAggregate window)
    {
        foreach (var service in window.HeldServices())
            cluster.ServiceSeenMs[service] = window.EndMs;
        List<string>? silent = null;
        foreach (var (service, seenMs) in cluster.ServiceSeenMs)
            if (window.EndMs - seenMs > _options.ForgetServiceAfterMs)
                (silent ??= []).Add(service);
        if (silent is null)
            return;
        foreach (var service in silent)
        {
            if (cluster.Open.Values.Any(w => w.Holds(service)))
                continue; // back already, in a window not emitted yet
            cluster.ServiceSeenMs.Remove(service);
            cluster.Templates.Forget(service);
            cluster.Traces.Forget(service);
            foreach (var key in cluster.NewTemplatesSeenMs.Keys.Where(k => k.Service == service).ToList())
                cluster.NewTemplatesSeenMs.Remove(key);
        }
    }

    /// <summary>Templates past their novelty are ordinary vocabulary: dropping them keeps the map bounded.</summary>
    private static void ForgetOldNews(ClusterWindows cluster, long nowMs)
    {
        foreach (var (key, first) in cluster.NewTemplatesSeenMs.ToList())
            if (nowMs - first > NoveltyMs)
                cluster.NewTemplatesSeenMs.Remove(key);
    }

    private static long FloorTo(long value, long unit) =>
        value >= 0 ? value / unit * unit : -((-value + unit - 1) / unit * unit);
}
