namespace LogWhisperer.Changes;

/// <summary>
/// The changes seen so far, per cluster, in event-time order. Sources write (the simulator, a replay's changes
/// file, the Kafka <c>changes</c> topic) while the scoring stage reads, so it is thread-safe. Bounded: the newest
/// <see cref="MaxPerCluster"/> changes per cluster are kept (the correlator looks 15 minutes back from an onset; a
/// cluster that changes that often is far beyond what one onset can be tied to anyway).
/// </summary>
public sealed class ChangeLog
{
    public const int MaxPerCluster = 10_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<ChangeEvent>> _byCluster = new(StringComparer.Ordinal);

    public long Count { get; private set; }

    public void Add(ChangeEvent change)
    {
        lock (_lock)
        {
            if (!_byCluster.TryGetValue(change.Cluster, out var list))
                _byCluster[change.Cluster] = list = [];
            int i = list.Count;
            while (i > 0 && list[i - 1].TimestampMs > change.TimestampMs)
                i--; // usually appended at the end
            list.Insert(i, change);
            if (list.Count > MaxPerCluster)
                list.RemoveRange(0, list.Count - MaxPerCluster); // the oldest
            Count++;
        }
    }

    public void AddRange(IEnumerable<ChangeEvent> changes)
    {
        foreach (var c in changes)
            Add(c);
    }

    /// <summary>The cluster's changes that started in [fromMs, toMs], oldest first.</summary>
    public IReadOnlyList<ChangeEvent> Between(string cluster, long fromMs, long toMs)
    {
        lock (_lock)
        {
            if (!_byCluster.TryGetValue(cluster, out var list))
                return [];
            return list.Where(c => c.TimestampMs >= fromMs && c.TimestampMs <= toMs).ToList();
        }
    }
}
