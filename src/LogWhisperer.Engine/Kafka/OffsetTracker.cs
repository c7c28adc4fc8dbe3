using Confluent.Kafka;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Kafka;

/// <summary>
/// Decides which input offsets may be committed: a message's offset becomes committable once every window
/// that can hold its records has been handled by the pipeline (event written, or judged quiet) — plus the
/// configured lag — and every earlier message of its partition is committable too. A crash therefore
/// re-reads, never skips, input whose RCA events may not have been published.
/// </summary>
internal sealed class OffsetTracker(long windowSizeMs, long hopMs, long lagMs)
{
    private readonly record struct Entry(
        long NextOffset,
        string? Cluster,
        long MaxTs,
        Dictionary<string, long>? Clusters
    );

    private readonly Lock _lock = new();
    private readonly Dictionary<TopicPartition, Queue<Entry>> _pending = [];
    private readonly Dictionary<string, long> _done = [];
    private readonly Dictionary<TopicPartition, long> _ready = [];
    private readonly Dictionary<string, long> _newest = [];

    /// <summary>Registers a consumed message and the records decoded from it (output[from..]).</summary>
    public void Track(TopicPartition tp, long offset, List<TelemetryRecord> output, int from)
    {
        string? cluster = null;
        long maxTs = long.MinValue;
        Dictionary<string, long>? clusters = null;
        for (int i = from; i < output.Count; i++)
        {
            var r = output[i];
            if (cluster is null || (clusters is null && r.Cluster == cluster))
            {
                cluster ??= r.Cluster;
                maxTs = Math.Max(maxTs, r.TimestampMs);
                continue;
            }
            clusters ??= new Dictionary<string, long> { [cluster] = maxTs };
            clusters[r.Cluster] = Math.Max(clusters.GetValueOrDefault(r.Cluster, long.MinValue), r.TimestampMs);
        }
        lock (_lock)
        {
            if (cluster is not null)
                _newest[cluster] = Math.Max(_newest.GetValueOrDefault(cluster, long.MinValue), maxTs);
            if (clusters is not null)
                foreach (var (c, ts) in clusters)
                    _newest[c] = Math.Max(_newest.GetValueOrDefault(c, long.MinValue), ts);
            if (!_pending.TryGetValue(tp, out var queue))
                _pending[tp] = queue = new Queue<Entry>();
            queue.Enqueue(new Entry(offset + 1, cluster, maxTs, clusters));
            Advance(tp, queue);
        }
    }

    /// <summary>Registers a consumed message that carries data of one cluster up to event time
    /// <paramref name="maxTs"/>.</summary>
    public void Track(TopicPartition tp, long offset, string? cluster, long maxTs)
    {
        lock (_lock)
        {
            if (cluster is not null)
                _newest[cluster] = Math.Max(_newest.GetValueOrDefault(cluster, long.MinValue), maxTs);
            if (!_pending.TryGetValue(tp, out var queue))
                _pending[tp] = queue = new Queue<Entry>();
            queue.Enqueue(new Entry(offset + 1, cluster, maxTs, null));
            Advance(tp, queue);
        }
    }

    public void WindowDone(string cluster, long windowEndMs)
    {
        lock (_lock)
        {
            if (_done.TryGetValue(cluster, out var prev) && prev >= windowEndMs)
                return;
            _done[cluster] = windowEndMs;
            foreach (var (tp, queue) in _pending)
                Advance(tp, queue);
        }
    }

    /// <summary>
    /// The stream ended and the pipeline flushed every open window: everything read so far is handled
    /// (the commit lag still applies).
    /// </summary>
    public void AllFlushed()
    {
        lock (_lock)
            foreach (var (cluster, newest) in _newest)
                WindowDone(cluster, LastWindowEnd(newest));
    }

    /// <summary>Offsets that became committable since the last call.</summary>
    public List<TopicPartitionOffset> TakeReady()
    {
        lock (_lock)
        {
            var ready = _ready.Select(p => new TopicPartitionOffset(p.Key, new Offset(p.Value))).ToList();
            _ready.Clear();
            return ready;
        }
    }

    private void Advance(TopicPartition tp, Queue<Entry> queue)
    {
        while (queue.TryPeek(out var e) && Handled(e))
        {
            queue.Dequeue();
            _ready[tp] = e.NextOffset;
        }
    }

    private bool Handled(Entry e)
    {
        if (e.Cluster is null)
            return true; // nothing decoded (dead-lettered): handled already
        if (e.Clusters is null)
            return Handled(e.Cluster, e.MaxTs);
        foreach (var (c, ts) in e.Clusters)
            if (!Handled(c, ts))
                return false;
        return true;
    }

    // The last window holding ts is the one opened at the latest hop at or before ts.
    private long LastWindowEnd(long ts) => ts - (((ts % hopMs) + hopMs) % hopMs) + windowSizeMs;

    private bool Handled(string cluster, long ts) =>
        _done.TryGetValue(cluster, out var end) && end >= LastWindowEnd(ts) + lagMs;
}
