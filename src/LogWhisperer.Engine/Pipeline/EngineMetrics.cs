using System.Collections.Concurrent;
using System.Diagnostics;
using LogWhisperer.Explain;
using LogWhisperer.Sinks;

namespace LogWhisperer.Pipeline;

/// <summary>One Kafka input partition's consumer lag (messages between the consumer's position and the high watermark).</summary>
public readonly record struct PartitionLag(string Topic, int Partition, long Lag);

/// <summary>
/// The engine's own metrics, served at /metrics in the Prometheus text format. Stage and record counters are
/// read from the attached pipeline at scrape time (nothing is copied on the hot path); RCA events, dead
/// letters and the two latencies are observed through the sink and dead-letter wrappers the pipeline puts
/// around its own when <see cref="PipelineOptions.Metrics"/> is set.
/// </summary>
public sealed class EngineMetrics
{
    private volatile RcaPipeline? _pipeline;
    private readonly ConcurrentDictionary<(string Stage, string Reason), long> _deadLetters = new();
    private long _events;

    /// <summary>Event-time end of a window to its RCA event leaving the engine (wall clock minus window end).</summary>
    public Histogram WindowLatency { get; } = new(0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600);
    /// <summary>One forward pass of the GAT over a batch of snapshots.</summary>
    public Histogram ScoringLatency { get; } = new(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5);
    public long RcaEvents => Interlocked.Read(ref _events);

    /// <summary>Set by Kafka runs: per-partition lag, from librdkafka's statistics.</summary>
    public Func<IReadOnlyList<PartitionLag>>? ConsumerLag { get; set; }
    /// <summary>Set by Kafka runs: messages read and messages that could not be decoded (dead-lettered raw).</summary>
    public Func<(long Messages, long Undecodable)>? KafkaMessages { get; set; }

    private int _assignedPartitions = -1;
    /// <summary>Set by Kafka runs: input partitions assigned by the group at the last rebalance; -1 until the consumer joined it (readiness).</summary>
    public int AssignedPartitions { get => Volatile.Read(ref _assignedPartitions); set => Volatile.Write(ref _assignedPartitions, value); }

    internal void Attach(RcaPipeline pipeline) => _pipeline = pipeline;

    /// <summary>The attached pipeline's stages (empty before one is attached): what progress lines report.</summary>
    public IReadOnlyList<StageMetrics> Stages => _pipeline?.Stages ?? [];

    internal IRcaSink CountEvents(IRcaSink sink) => new CountingSink(this, sink);
    internal IDeadLetterSink CountDeadLetters(IDeadLetterSink sink) => new CountingDeadLetters(this, sink);

    /// <summary>
    /// A bounded label for a dead letter's reason: its text before the first colon, at most 40 characters.
    /// Reasons carry values ("late: window ending 1767…"), and a label per value would grow without end.
    /// </summary>
    public static string ReasonClass(string reason)
    {
        int colon = reason.IndexOf(':');
        var head = (colon < 0 ? reason : reason[..colon]).Trim();
        return head.Length > 40 ? head[..40] : head.Length == 0 ? "unknown" : head;
    }

    public string Exposition()
    {
        var x = new PrometheusExposition();
        var stages = _pipeline?.Stages ?? [];
        x.Family("logwhisperer_stage_records_in_total", "counter", "Items taken in by each pipeline stage (records for decode and window, windows or snapshots after).");
        foreach (var s in stages) x.Sample("logwhisperer_stage_records_in_total", s.RecordsIn, ("stage", s.Name));
        x.Family("logwhisperer_stage_records_out_total", "counter", "Items handed on by each pipeline stage.");
        foreach (var s in stages) x.Sample("logwhisperer_stage_records_out_total", s.RecordsOut, ("stage", s.Name));
        x.Family("logwhisperer_stage_busy_seconds_total", "counter", "Time each stage spent working (not waiting on its channels).");
        foreach (var s in stages) x.Sample("logwhisperer_stage_busy_seconds_total", s.Busy.TotalSeconds, ("stage", s.Name));

        var kafka = KafkaMessages?.Invoke();
        x.Family("logwhisperer_dead_letters_total", "counter", "Records and messages dead-lettered, by stage and reason.");
        foreach (var ((stage, reason), n) in _deadLetters.OrderBy(d => d.Key)) x.Sample("logwhisperer_dead_letters_total", n, ("stage", stage), ("reason", reason));
        if (kafka is { } k) x.Sample("logwhisperer_dead_letters_total", k.Undecodable, ("stage", "kafka"), ("reason", "undecodable"));

        var counters = _pipeline?.Counters;
        x.Family("logwhisperer_invalid_records_total", "counter", "Records that failed validation.");
        x.Sample("logwhisperer_invalid_records_total", counters?.Invalid ?? 0);
        x.Family("logwhisperer_late_records_total", "counter", "Records behind the watermark: accepted within the allowed lateness, or dropped (dead-lettered).");
        x.Sample("logwhisperer_late_records_total", counters?.LateAccepted ?? 0, ("outcome", "accepted"));
        x.Sample("logwhisperer_late_records_total", counters?.LateDropped ?? 0, ("outcome", "dropped"));
        x.Family("logwhisperer_windows_emitted_total", "counter", "Event-time windows closed by the windower.");
        x.Sample("logwhisperer_windows_emitted_total", _pipeline?.Window.RecordsOut ?? 0);
        x.Family("logwhisperer_windows_quiet_total", "counter", "Windows scored as no incident.");
        x.Sample("logwhisperer_windows_quiet_total", counters?.QuietWindows ?? 0);
        x.Family("logwhisperer_rca_events_total", "counter", "RCA events emitted.");
        x.Sample("logwhisperer_rca_events_total", RcaEvents);
        x.Histogram("logwhisperer_window_latency_seconds", "Event-time end of a window to its RCA event being emitted.", WindowLatency);
        x.Histogram("logwhisperer_scoring_latency_seconds", "One GAT forward pass over a batch of graph snapshots.", ScoringLatency);

        if (kafka is { } km)
        {
            x.Family("logwhisperer_kafka_messages_total", "counter", "Kafka messages read from the input topics.");
            x.Sample("logwhisperer_kafka_messages_total", km.Messages);
        }
        if (ConsumerLag?.Invoke() is { } lags)
        {
            x.Family("logwhisperer_kafka_consumer_lag", "gauge", "Messages between the consumer position and the partition's high watermark.");
            foreach (var l in lags) x.Sample("logwhisperer_kafka_consumer_lag", l.Lag, ("topic", l.Topic), ("partition", l.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        using var process = Process.GetCurrentProcess();
        x.Family("logwhisperer_process_resident_memory_bytes", "gauge", "Resident memory of the engine process.");
        x.Sample("logwhisperer_process_resident_memory_bytes", process.WorkingSet64);
        x.Family("logwhisperer_process_managed_heap_bytes", "gauge", "Bytes allocated on the .NET managed heap.");
        x.Sample("logwhisperer_process_managed_heap_bytes", GC.GetTotalMemory(false));
        return x.ToString();
    }

    private sealed class CountingSink(EngineMetrics owner, IRcaSink next) : IRcaSink
    {
        public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
        {
            await next.WriteAsync(rca, cancellationToken);
            Interlocked.Increment(ref owner._events);
            owner.WindowLatency.Observe((DateTimeOffset.UtcNow - rca.WindowEnd).TotalSeconds);
        }

        // A wrapper must pass quiet windows on: alert sinks behind it resolve incidents on them.
        public ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken) =>
            next.QuietAsync(cluster, windowEnd, cancellationToken);
    }

    private sealed class CountingDeadLetters(EngineMetrics owner, IDeadLetterSink next) : IDeadLetterSink
    {
        public void Write(DeadLetter letter)
        {
            owner._deadLetters.AddOrUpdate((letter.Stage, ReasonClass(letter.Reason)), 1, (_, n) => n + 1);
            next.Write(letter);
        }
    }
}
