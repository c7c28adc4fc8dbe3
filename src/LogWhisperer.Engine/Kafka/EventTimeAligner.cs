using System.Buffers;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Kafka;

/// <summary> Merges partitions by event time. A consumer with a backlog fetches each partition in large chunks, so logs
/// can arrive minutes of event time ahead of the spans of the same seconds; fed to the windower as they come, the
/// laggards would be dropped as late. Records are held until every assigned partition has shown data at least that new
/// (or is caught up), the way Flink and Kafka Streams build per-partition watermarks, and released in event-time order.
/// A caught-up partition that has delivered data goes on holding the others back at its newest event time (Flink's
/// source idleness) until it has held them back for <paramref name="idleAfterMs"/>: on a live stream every partition is
/// caught up between two deliveries, and the logs of a second often land a moment after its spans; released at once,
/// the spans would close windows the logs still belong to, and what reaches a window would depend on timing — a
/// restarted or rebalanced engine would then not rebuild the same windows. The clock starts when the partition caught
/// up, or when the stream resumed after a pause of the whole stream (no partition delivered for the idle time) if that
/// is later: after such a pause (a producer restart, a gateway outage) every partition has been caught up for long, and
/// counted from then the first partition to resume would be released alone and make the others' records of the same
/// seconds late (measured: 666–1,633 records dead-lettered per engine in the scale-out test). Not from when the
/// partition started to stand in the way of the oldest held record: at the end of a backlog read from many partitions,
/// each caught-up partition would then wait its idle time in turn as the oldest held record passed its newest
/// (measured: 166 s to drain one minute of a 100-service mesh from 96 partitions).
/// <para>Idle is not yet quiet. An idle partition still holds the others within <paramref name="idleSlackMs"/> of its
/// newest record (the windows' out-of-orderness plus allowed lateness: no window its next records can reach closes)
/// until it has been silent for <paramref name="stallMs"/>; only then does it hold nobody back. A producer (or a
/// broker, or this consumer) that stalls on one partition while the others go on, up to that long, therefore makes no
/// record late. Before this rule, the survivors of a kill in the scale-out test dead-lettered 594–7,283 late records in
/// CI runs under load; that test's producer writes many times faster than real time, so a stall of a few seconds is
/// minutes of event time (our reading of those runs, not observed directly). A partition found quiet stays quiet
/// through a pause of the whole stream, until it delivers again. The price: where a partition's data really ends more
/// than the slack before the others' (the end of a backlog, a sparse topic), the newest windows wait up to
/// <paramref name="stallMs"/> longer to close.</para>
/// </summary>
/// <remarks>Held records are kept as runs, one per delivered message, each sorted by event time (stable), and merged
/// through a heap of runs keyed by each run's oldest unreleased record. Ties are broken by topic, partition and then
/// delivery order (offset order within a partition), never by how deliveries from different partitions happened to
/// interleave in time: the same held records are always released in the same order, so a restarted engine adds them
/// to its windows in the order the uninterrupted one did. (A heap of single records broke ties by insertion order,
/// and cost the same CPU: measured in docs/evaluation.md.)</remarks>
internal sealed class EventTimeAligner(
    int maxHeld,
    long idleAfterMs = 3_000,
    long idleSlackMs = 10_000,
    long stallMs = 30_000,
    Func<long>? clock = null
)
{
    private readonly PriorityQueue<Run, RunKey> _runs = new(RunKey.Order);
    private int _held;
    private long _delivered; // runs so far: delivery order, which within one partition is offset order
    private readonly Dictionary<TopicPartition, long> _newest = []; // newest event time seen per partition
    private readonly Dictionary<TopicPartition, long> _caughtUpAt = []; // reached its end (wall clock)
    private long _lastDeliveryAt = long.MinValue / 2,
        _resumedAt = long.MinValue / 2; // wall clock
    private readonly HashSet<TopicPartition> _assigned = [];

    // Silent for the stall time while the stream went on: a pause of the whole stream does not make them hold the
    // others back again (a partition whose producer has gone would hold every burst after a pause for the stall time).
    private readonly HashSet<TopicPartition> _quiet = [];
    private readonly Func<long> _clock = clock ?? (() => Environment.TickCount64);

    public int Held => _held;

    /// <summary>Partitions are assigned and every one has been read to its end.</summary>
    public bool AllCaughtUp => _assigned.Count > 0 && _assigned.All(_caughtUpAt.ContainsKey);

    public void Assigned(IEnumerable<TopicPartition> partitions)
    {
        foreach (var tp in partitions)
            _assigned.Add(tp);
    }

    public void CaughtUp(TopicPartition tp) => _caughtUpAt.TryAdd(tp, _clock());

    /// <summary>Holds <paramref name="records"/> (the aligner sorts them in place and keeps the list until they are
    /// released).</summary>
    public void Add(TopicPartition tp, List<TelemetryRecord> records)
    {
        _caughtUpAt.Remove(tp);
        _quiet.Remove(tp);
        _assigned.Add(tp);
        if (records.Count == 0)
            return;
        long now = _clock();
        if (now - _lastDeliveryAt >= idleAfterMs)
            _resumedAt = now; // the whole stream had paused
        _lastDeliveryAt = now;
        var run = new Run(tp, _delivered++, records);
        _runs.Enqueue(run, run.Key);
        _held += records.Count;
        long newest = records[^1].TimestampMs;
        if (_newest.TryGetValue(tp, out long before) && before > newest)
            newest = before;
        _newest[tp] = newest;
    }

    /// <summary>Moves every record that no partition can still undercut into <paramref name="output"/>.</summary>
    public void Release(List<TelemetryRecord> output, bool all = false)
    {
        int before;
        do // again while it moves: the oldest held record can pass partitions that are already idle
        {
            before = output.Count;
            long low = all ? long.MaxValue : LowWatermark();
            // Bounded memory: when too much is held (a partition that never catches up), release the oldest anyway.
            while (_runs.TryPeek(out var run, out var key) && (key.Ts <= low || _held > maxHeld))
            {
                _runs.Dequeue();
                // Straight from this run while it stays ahead of every other run: a sorted run rarely needs the heap.
                bool more;
                do
                {
                    output.Add(run.Records[run.Next++]);
                    _held--;
                    more = run.Next < run.Records.Count;
                } while (
                    more
                    && (run.Records[run.Next].TimestampMs <= low || _held > maxHeld)
                    && (!_runs.TryPeek(out _, out var next) || RunKey.Order.Compare(run.Key, next) <= 0)
                );
                if (more)
                    _runs.Enqueue(run, run.Key);
            }
        } while (output.Count > before && _held > 0);
    }

    private long LowWatermark()
    {
        if (!_runs.TryPeek(out _, out var oldest))
            return long.MinValue; // nothing to release
        long oldestHeld = oldest.Ts;
        long low = long.MaxValue,
            now = _clock();
        foreach (var tp in _assigned)
        {
            bool hasData = _newest.TryGetValue(tp, out var newest);
            if (_caughtUpAt.TryGetValue(tp, out long caughtUpAt))
            {
                if (!hasData || _quiet.Contains(tp))
                    continue; // an empty or a quiet partition holds nobody back
                long silentFor = now - Math.Max(caughtUpAt, _resumedAt);
                if (newest < oldestHeld && silentFor >= stallMs)
                {
                    _quiet.Add(tp);
                    continue;
                }
                if (newest < oldestHeld && silentFor >= idleAfterMs)
                {
                    low = Math.Min(low, newest + idleSlackMs); // idle
                    continue;
                }
            }
            if (!hasData)
                return long.MinValue; // not heard from yet
            low = Math.Min(low, newest);
        }
        return low;
    }

    /// <summary>One delivery's records, sorted by event time (stable), and how far they are released.</summary>
    private sealed class Run
    {
        public Run(TopicPartition tp, long delivery, List<TelemetryRecord> records)
        {
            SortByTime(records);
            Records = records;
            Topic = tp.Topic;
            Partition = tp.Partition.Value;
            Delivery = delivery;
        }

        public List<TelemetryRecord> Records { get; }
        public int Next;
        public string Topic { get; }
        public int Partition { get; }
        public long Delivery { get; }

        public RunKey Key => new(Records[Next].TimestampMs, Topic, Partition, Delivery);

        /// <summary>Stable: records of the same millisecond keep their order in the message.</summary>
        private static void SortByTime(List<TelemetryRecord> records)
        {
            int n = records.Count,
                i = 1;
            while (i < n && records[i - 1].TimestampMs <= records[i].TimestampMs)
                i++;
            if (i >= n)
                return; // already in order, as most deliveries are
            var keys = ArrayPool<(long Ts, int Index)>.Shared.Rent(n);
            for (int k = 0; k < n; k++)
                keys[k] = (records[k].TimestampMs, k);
            keys.AsSpan(0, n).Sort(CollectionsMarshal.AsSpan(records));
            ArrayPool<(long, int)>.Shared.Return(keys);
        }
    }

    private readonly record struct RunKey(long Ts, string Topic, int Partition, long Delivery)
    {
        public static readonly IComparer<RunKey> Order = Comparer<RunKey>.Create(
            static (a, b) =>
            {
                int c = a.Ts.CompareTo(b.Ts);
                if (c == 0)
                    c = string.CompareOrdinal(a.Topic, b.Topic);
                if (c == 0)
                    c = a.Partition.CompareTo(b.Partition);
                return c != 0 ? c : a.Delivery.CompareTo(b.Delivery);
            }
        );
    }
}
