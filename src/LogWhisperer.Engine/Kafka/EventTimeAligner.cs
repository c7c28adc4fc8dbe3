using Confluent.Kafka;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Kafka;

/// <summary>
/// Merges partitions by event time. A consumer with a backlog fetches each partition in large chunks, so
/// logs can arrive minutes of event time ahead of the spans of the same seconds; fed to the windower as
/// they come, the laggards would be dropped as late. Records are held until every assigned partition has
/// shown data at least that new (or is caught up), the way Flink and Kafka Streams build per-partition
/// watermarks, and released in event-time order.
/// A caught-up partition that has delivered data goes on holding the others back at its newest event time
/// (Flink's source idleness) until it has held them back for <paramref name="idleAfterMs"/>: on a live stream
/// every partition is caught up between two deliveries, and the logs of a second often land a moment after
/// its spans; released at once, the spans would close windows the logs still belong to, and what reaches a
/// window would depend on timing — a restarted or rebalanced engine would then not rebuild the same windows.
/// The clock runs only while the partition actually holds records back, not from when it caught up: after a
/// pause of the whole stream (a producer restart, a gateway outage) every partition has been caught up for
/// long, and counted from then the first partition to resume would be released alone and make the others'
/// records of the same seconds late (measured: 666–1,633 records dead-lettered per engine in the scale-out test).
/// </summary>
internal sealed class EventTimeAligner(int maxHeld, long idleAfterMs = 3_000, Func<long>? clock = null)
{
    private readonly PriorityQueue<TelemetryRecord, long> _held = new();
    private readonly Dictionary<TopicPartition, long> _newest = [];   // newest event time seen per partition
    private readonly HashSet<TopicPartition> _caughtUp = [];          // reached its end
    private readonly Dictionary<TopicPartition, long> _holdingBackSince = []; // caught up and holding held records back (since when)
    private readonly HashSet<TopicPartition> _assigned = [];
    private readonly Func<long> _clock = clock ?? (() => Environment.TickCount64);

    public int Held => _held.Count;

    /// <summary>Partitions are assigned and every one has been read to its end.</summary>
    public bool AllCaughtUp => _assigned.Count > 0 && _assigned.All(_caughtUp.Contains);

    public void Assigned(IEnumerable<TopicPartition> partitions) { foreach (var tp in partitions) _assigned.Add(tp); }

    public void CaughtUp(TopicPartition tp) => _caughtUp.Add(tp);

    public void Add(TopicPartition tp, List<TelemetryRecord> records, int from)
    {
        _caughtUp.Remove(tp);
        _holdingBackSince.Remove(tp);
        _assigned.Add(tp);
        long newest = _newest.GetValueOrDefault(tp, long.MinValue);
        for (int i = from; i < records.Count; i++)
        {
            _held.Enqueue(records[i], records[i].TimestampMs);
            newest = Math.Max(newest, records[i].TimestampMs);
        }
        if (newest != long.MinValue) _newest[tp] = newest;
    }

    /// <summary>Moves every record that no partition can still undercut into <paramref name="output"/>.</summary>
    public void Release(List<TelemetryRecord> output, bool all = false)
    {
        long low = all ? long.MaxValue : LowWatermark();
        // Bounded memory: when too much is held (a partition that never catches up), release the oldest anyway.
        while (_held.TryPeek(out var r, out var ts) && (ts <= low || _held.Count > maxHeld))
        {
            _held.Dequeue();
            output.Add(r);
        }
    }

    private long LowWatermark()
    {
        if (!_held.TryPeek(out _, out long oldestHeld)) return long.MinValue; // nothing to release
        long low = long.MaxValue, now = _clock();
        foreach (var tp in _assigned)
        {
            bool hasData = _newest.TryGetValue(tp, out var newest);
            if (_caughtUp.Contains(tp))
            {
                if (!hasData) continue; // an empty partition holds nobody back
                if (newest >= oldestHeld) _holdingBackSince.Remove(tp); // not in the way
                else if (!_holdingBackSince.TryAdd(tp, now) && now - _holdingBackSince[tp] >= idleAfterMs) continue; // idle
            }
            if (!hasData) return long.MinValue; // not heard from yet
            low = Math.Min(low, newest);
        }
        return low;
    }
}
