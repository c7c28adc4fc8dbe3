using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode;

/// <summary>
/// Drops records seen before in the same cluster and window: a Kafka message redelivered after a rebalance,
/// a span the collector retried, a log line shipped twice. Spans are keyed by trace and span id, other
/// records by a hash of all their fields. The memory is capped per window; past the cap, records are let
/// through unchecked (and counted), never refused.
/// </summary>
internal sealed class Deduplicator(IngestOptions options, IngestCounters counters)
{
    private readonly WindowedState<HashSet<ulong>> _seen = new(options.WindowMs, () => []);

    /// <summary>True when the record was already seen (count it as a duplicate and drop it).</summary>
    public bool IsDuplicate(TelemetryRecord record)
    {
        var seen = _seen.Get(record.Cluster, record.TimestampMs);
        var hash = RecordHash.Of(record);
        if (seen.Contains(hash))
        {
            counters.Count(IngestCounters.Duplicate);
            return true;
        }
        if (seen.Count >= options.MaxDedupEntriesPerClusterWindow)
        {
            counters.Count(IngestCounters.DedupFull);
            return false;
        }
        seen.Add(hash);
        return false;
    }
}
