using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using LogWhisperer.Explain;
using LogWhisperer.Pipeline;
using LogWhisperer.Sinks;

namespace LogWhisperer.Observability;

/// <summary>One Kafka input partition's consumer lag (messages between the consumer's position and the high
/// watermark).</summary>
public readonly record struct PartitionLag(string Topic, int Partition, long Lag);

/// <summary>
/// The engine's own metrics as System.Diagnostics.Metrics instruments on the meter
/// <see cref="MeterName"/>; OpenTelemetry exports them (the CLI serves them at /metrics for Prometheus and over
/// OTLP). Instrument names follow OpenTelemetry's conventions; Prometheus sees them translated (dots to
/// underscores, the unit appended, <c>_total</c> on counters): <c>logwhisperer.stage.busy</c> in seconds is
/// <c>logwhisperer_stage_busy_seconds_total</c>. Stage and record counters are observed from the attached
/// pipeline at collection time (nothing extra on the hot path); RCA events, dead letters and the two latencies
/// are recorded through the sink and dead-letter wrappers the pipeline puts around its own when
/// <see cref="PipelineOptions.Metrics"/> is set.
/// </summary>
/// <remarks>
/// Each instance has a meter of its own (same name): an exporter picks one instance's instruments with
/// <see cref="Owns"/>, so several engines in one process (tests) never mix their figures.
/// </remarks>
public sealed class EngineMetrics : IDisposable
{
    public const string MeterName = "LogWhisperer.Engine";

    /// <summary>Bucket bounds of <c>logwhisperer.window.latency</c> (seconds).</summary>
    public static readonly double[] WindowLatencyBounds = [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600];

    /// <summary>Bucket bounds of <c>logwhisperer.window.processing</c> (seconds).</summary>
    public static readonly double[] WindowProcessingBounds =
    [
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
        5,
        10,
        30,
    ];

    /// <summary>Bucket bounds of <c>logwhisperer.scoring.latency</c> (seconds).</summary>
    public static readonly double[] ScoringLatencyBounds =
    [
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
    ];

    private readonly Meter _meter = new(MeterName, typeof(EngineMetrics).Assembly.GetName().Version?.ToString());
    private readonly ConcurrentDictionary<(string Stage, DeadLetterCode Code), long> _deadLetters = new();
    private readonly Histogram<double> _windowLatency;
    private readonly Histogram<double> _scoringLatency;
    private readonly Histogram<double> _windowProcessing;
    private volatile RcaPipeline? _pipeline;
    private long _eventCount;

    /// <summary>RCA events emitted so far (also <c>logwhisperer.rca_events</c>), for the commands' summaries.</summary>
    public long RcaEvents => Interlocked.Read(ref _eventCount);

    /// <summary>Set by Kafka runs: per-partition lag, from librdkafka's statistics.</summary>
    public Func<IReadOnlyList<PartitionLag>>? ConsumerLag { get; set; }

    /// <summary>Set by Kafka runs: messages read and messages that could not be decoded (dead-lettered raw).</summary>
    public Func<(long Messages, long Undecodable)>? KafkaMessages { get; set; }

    public EngineMetrics()
    {
        var m = _meter;
        m.CreateObservableCounter(
            "logwhisperer.stage.records_in",
            () => StageMeasurements(s => s.RecordsIn),
            "{item}",
            "Items taken in by each pipeline stage (records for decode and window, windows or snapshots after)."
        );
        m.CreateObservableCounter(
            "logwhisperer.stage.records_out",
            () => StageMeasurements(s => s.RecordsOut),
            "{item}",
            "Items handed on by each pipeline stage."
        );
        m.CreateObservableCounter(
            "logwhisperer.stage.busy",
            () => StageMeasurements(s => s.Busy.TotalSeconds),
            "s",
            "Time each stage spent working (not waiting on its channels)."
        );
        m.CreateObservableCounter(
            "logwhisperer.dead_letters",
            DeadLetters,
            "{record}",
            "Records and messages dead-lettered, by stage and reason."
        );
        m.CreateObservableCounter(
            "logwhisperer.invalid_records",
            () => _pipeline?.Counters.Invalid ?? 0,
            "{record}",
            "Records that failed validation."
        );
        m.CreateObservableCounter(
            "logwhisperer.late_records",
            () =>
                (Measurement<long>[])
                    [
                        new(
                            _pipeline?.Counters.LateAccepted ?? 0,
                            new KeyValuePair<string, object?>("outcome", "accepted")
                        ),
                        new(
                            _pipeline?.Counters.LateDropped ?? 0,
                            new KeyValuePair<string, object?>("outcome", "dropped")
                        ),
                    ],
            "{record}",
            "Records behind the watermark: accepted within the allowed lateness, or dropped (dead-lettered)."
        );
        m.CreateObservableCounter(
            "logwhisperer.windows.emitted",
            () => _pipeline?.Window.RecordsOut ?? 0,
            "{window}",
            "Event-time windows closed by the windower."
        );
        m.CreateObservableCounter(
            "logwhisperer.windows.quiet",
            () => _pipeline?.Counters.QuietWindows ?? 0,
            "{window}",
            "Windows scored as no incident."
        );
        m.CreateObservableCounter("logwhisperer.rca_events", () => RcaEvents, "{event}", "RCA events emitted.");
        _windowLatency = m.CreateHistogram(
            "logwhisperer.window.latency",
            "s",
            "Event-time end of a window to its RCA event being emitted.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = WindowLatencyBounds }
        );
        _windowProcessing = m.CreateHistogram(
            "logwhisperer.window.processing",
            "s",
            "Wall-clock time from a window's close to its being done (event written, judged quiet, or warm-up).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = WindowProcessingBounds }
        );
        _scoringLatency = m.CreateHistogram(
            "logwhisperer.scoring.latency",
            "s",
            "One GAT forward pass over a batch of graph snapshots.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ScoringLatencyBounds }
        );
        m.CreateObservableCounter(
            "logwhisperer.kafka.messages",
            () =>
                KafkaMessages?.Invoke() is { } k
                    ? [new Measurement<long>(k.Messages)]
                    : Array.Empty<Measurement<long>>(),
            "{message}",
            "Kafka messages read from the input topics."
        );
        m.CreateObservableGauge(
            "logwhisperer.kafka.consumer_lag",
            () =>
                ConsumerLag
                    ?.Invoke()
                    .Select(l => new Measurement<long>(
                        l.Lag,
                        new("topic", l.Topic),
                        new("partition", l.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    ))
                ?? [],
            "{message}",
            "Messages between the consumer position and the partition's high watermark."
        );
        m.CreateObservableGauge(
            "logwhisperer.process.resident_memory",
            () =>
            {
                using var p = Process.GetCurrentProcess();
                return p.WorkingSet64;
            },
            "By",
            "Resident memory of the engine process."
        );
        m.CreateObservableGauge(
            "logwhisperer.process.managed_heap",
            () => GC.GetTotalMemory(false),
            "By",
            "Bytes allocated on the .NET managed heap."
        );
    }

    /// <summary>True for this instance's instruments: exporters filter with it (a view that drops the
    /// others).</summary>
    public bool Owns(Instrument instrument) => ReferenceEquals(instrument.Meter, _meter);

    private int _assignedPartitions = -1;

    /// <summary>Set by Kafka runs: input partitions assigned by the group at the last rebalance; -1 until the consumer
    /// joined it (readiness).</summary>
    public int AssignedPartitions
    {
        get => Volatile.Read(ref _assignedPartitions);
        set => Volatile.Write(ref _assignedPartitions, value);
    }

    internal void Attach(RcaPipeline pipeline) => _pipeline = pipeline;

    /// <summary>The attached pipeline's stages (empty before one is attached): what progress lines report.</summary>
    public IReadOnlyList<StageMetrics> Stages => _pipeline?.Stages ?? [];

    internal IRcaSink CountEvents(IRcaSink sink) => new CountingSink(this, sink);

    internal IDeadLetterSink CountDeadLetters(IDeadLetterSink sink) => new CountingDeadLetters(this, sink);

    internal void ScoringPass(TimeSpan elapsed) => _scoringLatency.Record(elapsed.TotalSeconds);

    internal void WindowProcessed(double seconds) => _windowProcessing.Record(seconds);

    internal void EventEmitted(DateTimeOffset windowEnd)
    {
        Interlocked.Increment(ref _eventCount);
        _windowLatency.Record((DateTimeOffset.UtcNow - windowEnd).TotalSeconds);
    }

    /// <summary>Dead letters by stage and code (the metric's <c>reason</c> label), and the raw Kafka messages the
    /// source could not decode.</summary>
    private IEnumerable<Measurement<long>> DeadLetters()
    {
        foreach (var ((stage, code), n) in _deadLetters)
            yield return new(
                n,
                new KeyValuePair<string, object?>("stage", stage),
                new KeyValuePair<string, object?>("reason", code.Label())
            );
        if (KafkaMessages?.Invoke() is { } k)
            yield return new(
                k.Undecodable,
                new KeyValuePair<string, object?>("stage", "kafka"),
                new KeyValuePair<string, object?>("reason", "undecodable")
            );
    }

    private IEnumerable<Measurement<T>> StageMeasurements<T>(Func<StageMetrics, T> value)
        where T : struct =>
        (_pipeline?.Stages ?? []).Select(s => new Measurement<T>(
            value(s),
            new KeyValuePair<string, object?>("stage", s.Name)
        ));

    public void Dispose() => _meter.Dispose();

    private sealed class CountingSink(EngineMetrics owner, IRcaSink next) : IRcaSink
    {
        public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
        {
            await next.WriteAsync(rca, cancellationToken);
            owner.EventEmitted(rca.WindowEnd);
        }

        // A wrapper must pass quiet windows on: alert sinks behind it resolve incidents on them.
        public ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken) =>
            next.QuietAsync(cluster, windowEnd, cancellationToken);
    }

    private sealed class CountingDeadLetters(EngineMetrics owner, IDeadLetterSink next) : IDeadLetterSink
    {
        public void Write(DeadLetter letter)
        {
            // by code: bounded, unlike reasons
            owner._deadLetters.AddOrUpdate((letter.Stage, letter.Code), 1, (_, n) => n + 1);
            next.Write(letter);
        }
    }
}
