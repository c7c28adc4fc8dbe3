using System.Diagnostics;
using System.Runtime.CompilerServices;
using Confluent.Kafka;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Kafka;
using LogWhisperer.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogWhisperer.Sources;

/// <summary>
/// Telemetry from Kafka topics, one consumer in a consumer group (scale out by starting more engines with the
/// same group id). Each topic is decoded with its configured format; a message that cannot be decoded goes,
/// raw, to the dead-letter topic and is counted, and the stream goes on. Partitions are merged by event time.
/// Offsets are committed only after the windows holding a message's records have been handled (call
/// <see cref="WindowDone"/> from the pipeline's OnWindowDone) — never automatically.
/// Scale-out: the engines of one group share the partitions with the range assignor, which gives the same
/// partition number of every input topic to one engine, so a cluster keyed onto it is whole in one place.
/// Rebalances are eager (every member gives up all its partitions), and each one ends the current read:
/// <see cref="ReadAsync"/> throws <see cref="PartitionsRevokedException"/> after committing what is done,
/// and the caller starts a fresh pipeline whose next read resumes the new assignment from the committed
/// offsets (see Hosting.RebalanceLoop) — window state is always rebuilt by replaying from Kafka, never carried
/// across.
/// </summary>
public sealed class KafkaTelemetrySource : ITelemetrySource, IRevocableSource, IDisposable
{
    private readonly KafkaSettings _settings;
    private readonly Dictionary<string, ITelemetryDecoder> _decoders;
    private readonly KafkaDeadLetterSink _deadLetters;
    private readonly IConsumer<byte[]?, byte[]> _consumer;
    private readonly Windowing.WindowOptions _windows;

    // Per assignment: replaced when a rebalance revokes the partitions, as the pipeline that fed them is.
    private volatile OffsetTracker _offsets;
    private volatile EventTimeAligner _aligner;
    private readonly ConsumerRevocation<ConsumeResult<byte[]?, byte[]>> _revocation = new();
    private readonly Lock _consumerLock = new();
    private readonly HashSet<string> _reported = [];

    // Messages being decoded beside Consume, until their records are tracked and aligned on the consumer thread.
    private readonly OrderedDecodeQueue _inFlight;
    private const int MaxInFlight = 256;

    public KafkaIngestCounters Counters { get; } = new();

    /// <summary>Per-partition lag, refreshed every second from librdkafka's statistics (for /metrics).</summary>
    public ConsumerLagStatistics Lag { get; } = new();

    /// <inheritdoc cref="IRevocableSource.PartitionsRevoking"/>
    public Action? PartitionsRevoking
    {
        get => _revocation.Revoking;
        set => _revocation.Revoking = value;
    }

    /// <summary>Called when partitions are assigned, before any of their messages is read.</summary>
    public Action<IReadOnlyList<TopicPartition>>? PartitionsAssigned { get; set; }

    /// <summary>Rebalances that took partitions from this engine.</summary>
    public int Revocations => _revocation.Count;

    private readonly ILogger _log;

    public KafkaTelemetrySource(
        KafkaSettings settings,
        DecodeOptions decode,
        KafkaDeadLetterSink deadLetters,
        Windowing.WindowOptions windows,
        ILogger? log = null
    )
    {
        _log = log ?? NullLogger.Instance;
        if (settings.InputTopics.Count == 0)
            throw new ArgumentException("no input topics configured");
        _settings = settings;
        _deadLetters = deadLetters;
        _decoders = settings.InputTopics.ToDictionary(t => t.Key, t => TelemetryDecoders.For(t.Value, decode));
        _windows = windows;
        _offsets = NewOffsetTracker();
        _aligner = NewAligner();
        _inFlight = new OrderedDecodeQueue(Decode);
        var config = settings.Apply(
            Tuned(
                new ConsumerConfig
                {
                    GroupId = settings.GroupId,
                    EnableAutoCommit = false,
                    AutoOffsetReset = AutoOffsetReset.Earliest,
                    EnablePartitionEof = true,
                    StatisticsIntervalMs = 1000,
                    // Co-partitioning: partition p of every input topic goes to the same member (range assigns each
                    // topic's partitions by member order), so a cluster's logs, metrics and spans meet in one engine.
                    PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
                }
            )
        );
        var builder = new ConsumerBuilder<byte[]?, byte[]>(config);
        if (log is not null)
            builder.SetLogHandler(KafkaClientLog.To(log, settings)); // else librdkafka prints on stderr itself
        _consumer = builder
            .SetPartitionsAssignedHandler(
                (_, tps) =>
                {
                    _aligner.Assigned(tps);
                    PartitionsAssigned?.Invoke(tps);
                }
            )
            .SetStatisticsHandler((_, json) => Lag.Update(json))
            .SetPartitionsRevokedHandler(
                (c, _) =>
                    _revocation.Revoked(() =>
                    {
                        // Messages still being decoded belong to the pipeline torn down: never tracked, so never
                        // committed; the next owner re-reads them from the committed offsets.
                        _inFlight.Clear();
                        CommitReady(c);
                        _offsets = NewOffsetTracker();
                        _aligner = NewAligner();
                    })
            )
            .Build();
    }

    /// <summary>The source's consumer tuning, on <paramref name="config"/> (the ingest benchmark reads with it too, so
    /// its bare-consumer figures stay comparable with the source's).</summary>
    public static ConsumerConfig Tuned(ConsumerConfig config)
    {
        // Throughput with a backlog: fetch big, prefetch deep, and do not sit on a fetch waiting for partitions that
        // are caught up (measured: 118k → 180k records/s on the mock cluster).
        config.FetchWaitMaxMs = 10;
        config.MaxPartitionFetchBytes = 8 << 20;
        config.QueuedMinMessages = 1_000_000;
        // Only what decoding and dead-lettering use: no header or timestamp objects built per message.
        config.ConsumeResultFields = "topic";
        return config;
    }

    private OffsetTracker NewOffsetTracker() =>
        new(_windows.SizeMs, _windows.HopMs, (long)_settings.CommitLag.TotalMilliseconds);

    private EventTimeAligner NewAligner() =>
        new(
            maxHeld: Math.Max(_settings.BatchRecords * 64, 1 << 20),
            idleSlackMs: _windows.MaxOutOfOrdernessMs + _windows.AllowedLatenessMs,
            stallMs: (long)_settings.PartitionStall.TotalMilliseconds
        );

    /// <summary>The pipeline handled this window; offsets whose records it covered may be committed.</summary>
    public void WindowDone(string cluster, long windowEndMs) => _offsets.WindowDone(cluster, windowEndMs);

    /// <summary>
    /// Reads until stopped, or until a rebalance revokes the partitions (then throws
    /// <see cref="PartitionsRevokedException"/>; call again, with a fresh pipeline, to read the new assignment).
    /// </summary>
    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        if (_consumer.Subscription.Count == 0)
            _consumer.Subscribe(_settings.InputTopics.Keys);
        _revocation.ReadStarting();
        var started = Stopwatch.StartNew();
        bool reportedCaughtUp = false;
        var batch = new List<TelemetryRecord>(_settings.BatchRecords);
        var idle = Stopwatch.StartNew();
        var lastRelease = Stopwatch.StartNew();
        // How long held records have waited with none released. Counted from when something is held, not from
        // the last batch: after a (re)assignment the first partitions to deliver must wait for the others,
        // which can take seconds; releasing them early would make the others' records late.
        var blocked = Stopwatch.StartNew();
        var sinceCommit = Stopwatch.StartNew();
        while (!cancellationToken.IsCancellationRequested)
        {
            var message = _revocation.TakeCarried();
            try
            {
                if (message is null)
                    lock (_consumerLock)
                        message = _consumer.Consume(TimeSpan.FromMilliseconds(50));
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                // e.g. a subscribed topic that does not exist yet: say so once, keep reading the others.
                if (_reported.Add(e.Error.Reason))
                    _log.LogWarning("kafka: {Reason}", e.Error.Reason);
                message = null;
            }
            _revocation.EndIfRevoked(message);
            if (message is null || message.IsPartitionEOF)
            {
                FinishInFlight(wait: true); // a partition is caught up only once its last records are aligned
                if (message is not null)
                {
                    _aligner.CaughtUp(message.TopicPartition);
                    // Recovery time after a restart or rebalance is measured up to this line (see docs/kafka.md).
                    if (!reportedCaughtUp && _aligner.AllCaughtUp)
                    {
                        reportedCaughtUp = true;
                        _log.LogInformation(
                            "kafka: caught up on all assigned partitions after {Seconds:F1} s",
                            started.Elapsed.TotalSeconds
                        );
                    }
                }
                CommitReady(_consumer);
                // Idle means caught up everywhere; joining the group and being assigned partitions takes seconds.
                if (
                    _settings.StopWhenIdle is { } limit
                    && message is null
                    && idle.Elapsed > limit
                    && (_aligner.AllCaughtUp || idle.Elapsed > limit + TimeSpan.FromSeconds(60))
                )
                    break;
            }
            else
            {
                idle.Restart();
                _inFlight.Add(message);
                if (_inFlight.Count >= MaxInFlight)
                    FinishHead();
                FinishInFlight(wait: false);
            }
            // Through a long backlog the loop never idles: commit what is done every second anyway, so a crash
            // mid-backlog replays seconds of input, not the whole backlog.
            if (sinceCommit.ElapsedMilliseconds > 1000)
            {
                CommitReady(_consumer);
                sinceCommit.Restart();
            }
            // A partition that is neither caught up nor moving (a slow producer, a slow fetch) holds the others back no
            // longer than one that is caught up and silent (the aligner's stall rule).
            int before = batch.Count;
            _aligner.Release(batch, all: blocked.Elapsed > _settings.PartitionStall);
            if (batch.Count > before || _aligner.Held == 0)
                blocked.Restart();
            if (
                batch.Count >= _settings.BatchRecords
                || (batch.Count > 0 && (message is null || lastRelease.ElapsedMilliseconds > 200))
            )
            {
                yield return batch;
                batch = new List<TelemetryRecord>(_settings.BatchRecords);
                lastRelease.Restart();
                idle.Restart(); // time spent waiting on the pipeline (backpressure) is not idleness
                await Task.Yield();
            }
        }
        FinishInFlight(wait: true);
        _aligner.Release(batch, all: true);
        if (batch.Count > 0)
            yield return batch;
    }

    /// <summary>Tracks and aligns decoded messages in consumption order: those already decoded, or all of
    /// them.</summary>
    private void FinishInFlight(bool wait)
    {
        while (_inFlight.TryTake(wait, out var message, out var records))
            Track(message, records);
    }

    /// <summary>Tracks and aligns the oldest message in flight, waiting for its decoding.</summary>
    private void FinishHead()
    {
        if (_inFlight.TryTake(wait: true, out var message, out var records))
            Track(message, records);
    }

    private void Track(ConsumeResult<byte[]?, byte[]> message, List<TelemetryRecord> records)
    {
        _offsets.Track(message.TopicPartition, message.Offset.Value, records, 0);
        _aligner.Add(message.TopicPartition, records);
    }

    /// <summary>One message's records, all or none: what does not decode is dead-lettered whole.</summary>
    private List<TelemetryRecord> Decode(ConsumeResult<byte[]?, byte[]> message)
    {
        var output = new List<TelemetryRecord>();
        var decoder = _decoders[message.Topic];
        try
        {
            decoder.Decode(message.Message.Value ?? [], output);
            Counters.Message(output.Count);
        }
        catch (InvalidDataException e)
        {
            output.Clear(); // all or nothing: the raw message is kept whole
            Counters.Bad();
            _deadLetters.WriteRaw(
                message.Message.Key,
                message.Message.Value ?? [],
                e.Message,
                decoder.Format.ToString(),
                message.Topic,
                message.Partition.Value,
                message.Offset.Value
            );
        }
        return output;
    }

    /// <summary>Call once the pipeline has drained (every window flushed): all input read so far is handled.</summary>
    public void AllFlushed() => _offsets.AllFlushed();

    /// <summary>Commits what the pipeline has finished with (after the dead letters of those messages are
    /// acknowledged).</summary>
    public void CommitReady()
    {
        lock (_consumerLock)
            CommitReady(_consumer);
    }

    private void CommitReady(IConsumer<byte[]?, byte[]> consumer)
    {
        var ready = _offsets.TakeReady();
        if (ready.Count == 0)
            return;
        _deadLetters.Flush(TimeSpan.FromSeconds(10));
        try
        {
            consumer.Commit(ready);
            Counters.Commit();
        }
        catch (KafkaException e)
        {
            // Not fatal: those messages are re-read after a restart, and the sink does not repeat events.
            _log.LogWarning("kafka: offset commit failed: {Reason}", e.Error.Reason);
        }
    }

    public void Dispose()
    {
        try
        {
            CommitReady();
            _consumer.Close();
        }
        catch (KafkaException) { }
        finally
        {
            _consumer.Dispose();
        }
    }
}
