namespace LogWhisperer.Decode;

/// <summary>
/// State kept per cluster per event-time window (distinct services, record hashes, record counts), holding
/// only the newest few windows of each cluster so the state is bounded however long the stream runs.
/// Not thread-safe: the decode stage is one task.
/// </summary>
internal sealed class WindowedState<T>(long windowMs, Func<T> create)
    where T : class
{
    private const int WindowsKept = 3;
    private readonly Dictionary<string, SortedDictionary<long, T>> _clusters = new(StringComparer.Ordinal);

    public int Clusters => _clusters.Count;

    public bool Knows(string cluster) => _clusters.ContainsKey(cluster);

    public T Get(string cluster, long timestampMs)
    {
        if (!_clusters.TryGetValue(cluster, out var windows))
            _clusters[cluster] = windows = [];
        long window = Math.DivRem(timestampMs, windowMs, out long rem) - (rem < 0 ? 1 : 0);
        if (windows.TryGetValue(window, out var state))
            return state;
        windows[window] = state = create();
        while (windows.Count > WindowsKept)
            windows.Remove(windows.Keys.First()); // the oldest window is done
        return state;
    }
}
