using System.Diagnostics;
using System.Runtime.CompilerServices;
using Confluent.Kafka;
using LogWhisperer.Kafka;
using LogWhisperer.Windowing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogWhisperer.Sources;

/// <summary>
/// The scoring stage's input in the two-stage topology: per-(service, window) parts from the service-windows
/// topic (keyed by cluster, so one engine of the group owns a cluster), regrouped into whole windows by a
/// <see cref="ServiceWindowAssembler"/>. A part that cannot be decoded goes, raw, to the dead-letter topic.
/// Offsets are committed once the windows holding a part are done (call <see cref="WindowDone"/>), with the
/// commit lag, as for telemetry. A rebalance ends the read like <see cref="KafkaTelemetrySource"/> does
/// (<see cref="PartitionsRevokedException"/>); the next read rebuilds the open windows from the committed offsets.
/// </summary>
internal sealed class KafkaServiceWindowSource : IRevocableSource, IDisposable
{
    private readonly KafkaSettings _settings;
    private readonly KafkaDeadLetterSink _deadLetters;
    private readonly ServiceWindowAssemblyOptions _assembly;
    private readonly WindowOptions _windows;
    private readonly IConsumer<string?, byte[]> _consumer;
    private readonly ILogger _log;
    private readonly Lock _consumerLock = new();
    private volatile OffsetTracker _offsets;
    private readonly ConsumerRevocation<ConsumeResult<string?, byte[]>> _revocation = new();

    public KafkaIngestCounters Counters { get; } = new();

    /// <summary>The assembly of the current (latest) read.</summary>
    public ServiceWindowAssembler Assembler { get; private set; }
    public Action? PartitionsRevoking
    {
        get => _revocation.Revoking;
        set => _revocation.Revoking = value;
    }
    public Action<IReadOnlyList<TopicPartition>>? PartitionsAssigned { get; set; }
    public int Revocations => _revocation.Count;

    public KafkaServiceWindowSource(
        KafkaSettings settings,
        KafkaDeadLetterSink deadLetters,
        WindowOptions windows,
        ServiceWindowAssemblyOptions assembly,
        ILogger? log = null
    )
    {
        _settings = settings;
        _deadLetters = deadLetters;
        _windows = windows;
        _assembly = assembly;
        _log = log ?? NullLogger.Instance;
        _offsets = NewOffsetTracker();
        Assembler = new ServiceWindowAssembler(assembly);
        var config = settings.Apply(
            new ConsumerConfig
            {
                GroupId = settings.GroupId,
                EnableAutoCommit = false,
                AutoOffsetReset = AutoOffsetReset.Earliest,
                EnablePartitionEof = true,
            }
        );
        var builder = new ConsumerBuilder<string?, byte[]>(config);
        if (log is not null)
            builder.SetLogHandler(KafkaClientLog.To(log, settings));
        _consumer = builder
            .SetPartitionsAssignedHandler((_, tps) => PartitionsAssigned?.Invoke(tps))
            .SetPartitionsRevokedHandler(
                (c, _) =>
                    _revocation.Revoked(() =>
                    {
                        CommitReady(c);
                        _offsets = NewOffsetTracker();
                    })
            )
            .Build();
    }

    private OffsetTracker NewOffsetTracker() =>
        new(_windows.SizeMs, _windows.HopMs, (long)_settings.CommitLag.TotalMilliseconds);

    public void WindowDone(string cluster, long windowEndMs) => _offsets.WindowDone(cluster, windowEndMs);

    /// <summary>Whole windows, per cluster in event-time order, until stopped, idle
    /// (<see cref="KafkaSettings.StopWhenIdle"/>) or revoked.</summary>
    public async IAsyncEnumerable<IReadOnlyList<WindowAggregate>> ReadAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        if (_consumer.Subscription.Count == 0)
            _consumer.Subscribe(_settings.ServiceWindowsTopic);
        _revocation.ReadStarting();
        var assembler = Assembler = new ServiceWindowAssembler(_assembly);
        var clock = Stopwatch.StartNew();
        var idle = Stopwatch.StartNew();
        var sinceCommit = Stopwatch.StartNew();
        var closed = new List<WindowAggregate>();
        var caughtUp = new HashSet<TopicPartition>(); // partitions read to their end (and nothing since)
        while (!cancellationToken.IsCancellationRequested)
        {
            var message = _revocation.TakeCarried();
            try
            {
                if (message is null)
                    lock (_consumerLock)
                        message = _consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                _log.LogWarning("kafka: {Reason}", e.Error.Reason);
                message = null;
            }
            _revocation.EndIfRevoked(message);
            if (message is null || message.IsPartitionEOF)
            {
                if (message is not null)
                    caughtUp.Add(message.TopicPartition);
                assembler.Tick(clock.ElapsedMilliseconds, closed);
                CommitReady(_consumer);
                // Idle means every assigned partition read to its end; joining the group takes seconds.
                if (
                    _settings.StopWhenIdle is { } limit
                    && message is null
                    && idle.Elapsed > limit
                    && (
                        _consumer.Assignment is { Count: > 0 } assigned && assigned.All(caughtUp.Contains)
                        || idle.Elapsed > limit + TimeSpan.FromSeconds(60)
                    )
                )
                    break;
            }
            else
            {
                idle.Restart();
                caughtUp.Remove(message.TopicPartition);
                Add(message, assembler, clock.ElapsedMilliseconds, closed);
            }
            if (sinceCommit.ElapsedMilliseconds > 1000)
            {
                CommitReady(_consumer);
                sinceCommit.Restart();
            }
            if (closed.Count > 0)
            {
                yield return closed;
                closed = [];
                idle.Restart();
            }
        }
        assembler.Flush(closed);
        if (closed.Count > 0)
            yield return closed;
    }

    private void Add(
        ConsumeResult<string?, byte[]> message,
        ServiceWindowAssembler assembler,
        long nowMs,
        List<WindowAggregate> closed
    )
    {
        ServiceWindow part;
        try
        {
            part = ServiceWindowCodec.Decode(message.Message.Value ?? []);
        }
        catch (InvalidDataException e)
        {
            Counters.Bad();
            _deadLetters.WriteRaw(
                message.Message.Key is { } k ? System.Text.Encoding.UTF8.GetBytes(k) : null,
                message.Message.Value ?? [],
                e.Message,
                "service-window",
                message.Topic,
                message.Partition.Value,
                message.Offset.Value
            );
            _offsets.Track(message.TopicPartition, message.Offset.Value, (string?)null, 0);
            return;
        }
        Counters.Message(1);
        _offsets.Track(message.TopicPartition, message.Offset.Value, part.Cluster, part.StartMs);
        assembler.Add(part, nowMs, closed);
    }

    /// <summary>Call once the pipeline has drained (every window flushed).</summary>
    public void AllFlushed() => _offsets.AllFlushed();

    public void CommitReady()
    {
        lock (_consumerLock)
            CommitReady(_consumer);
    }

    private void CommitReady(IConsumer<string?, byte[]> consumer)
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
