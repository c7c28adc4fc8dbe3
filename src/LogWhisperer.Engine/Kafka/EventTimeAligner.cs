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
/// for <paramref name="idleAfterMs"/> (Flink's source idleness): on a live stream every partition is caught
/// up between two deliveries, and the logs of a second often land a moment after its spans; released at
/// once, the spans would close windows the logs still belong to, and what reaches a window would depend on
/// timing — a restarted or rebalanced engine would then not rebuild the same windows.
/// </summary>
internal sealed class EventTimeAligner(int maxHeld, long idleAfterMs = 3_000)
{
    private readonly PriorityQueue<TelemetryRecord, long> _held = new();
    private readonly Dictionary<TopicPartition, long> _newest = [];   // newest event time seen per partition
    private readonly Dictionary<TopicPartition, long> _caughtUp = []; // reached its end (when); soon stops holding others back
    private readonly HashSet<TopicPartition> _assigned = [];

    public int Held => _held.Count;

    /// <summary>Partitions are assigned and every one has been read to its end.</summary>
    public bool AllCaughtUp => _assigned.Count > 0 && _assigned.All(_caughtUp.ContainsKey);

    public void Assigned(IEnumerable<TopicPartition> partitions) { foreach (var tp in partitions) _assigned.Add(tp); }

    public void CaughtUp(TopicPartition tp) => _caughtUp.TryAdd(tp, Environment.TickCount64);

    public void Add(TopicPartition tp, List<TelemetryRecord> records, int from)
    {
        _caughtUp.Remove(tp);
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
        long low = long.MaxValue, now = Environment.TickCount64;
        foreach (var tp in _assigned)
        {
            bool hasData = _newest.TryGetValue(tp, out var newest);
            if (_caughtUp.TryGetValue(tp, out var since) && (!hasData || now - since >= idleAfterMs)) continue; // idle
            if (!hasData) return long.MinValue; // not heard from yet
            low = Math.Min(low, newest);
        }
        return low;
    }
}
