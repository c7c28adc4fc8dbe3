using Confluent.Kafka;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Kafka;

/// <summary>
/// Merges partitions by event time. A consumer with a backlog fetches each partition in large chunks, so
/// logs can arrive minutes of event time ahead of the spans of the same seconds; fed to the windower as
/// they come, the laggards would be dropped as late. Records are held until every assigned partition has
/// shown data at least that new (or is caught up), the way Flink and Kafka Streams build per-partition
/// watermarks, and released in event-time order.
/// </summary>
internal sealed class EventTimeAligner(int maxHeld)
{
    private readonly PriorityQueue<TelemetryRecord, long> _held = new();
    private readonly Dictionary<TopicPartition, long> _newest = [];   // newest event time seen per partition
    private readonly HashSet<TopicPartition> _caughtUp = [];          // reached its end; does not hold others back
    private readonly HashSet<TopicPartition> _assigned = [];

    public int Held => _held.Count;

    /// <summary>Partitions are assigned and every one has been read to its end.</summary>
    public bool AllCaughtUp => _assigned.Count > 0 && _assigned.All(_caughtUp.Contains);

    public void Assigned(IEnumerable<TopicPartition> partitions) { foreach (var tp in partitions) _assigned.Add(tp); }

    public void CaughtUp(TopicPartition tp) => _caughtUp.Add(tp);

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
        long low = long.MaxValue;
        foreach (var tp in _assigned)
        {
            if (_caughtUp.Contains(tp)) continue;
            if (!_newest.TryGetValue(tp, out var newest)) return long.MinValue; // not heard from yet
            low = Math.Min(low, newest);
        }
        return low;
    }
}
