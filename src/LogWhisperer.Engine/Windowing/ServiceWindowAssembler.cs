namespace LogWhisperer.Windowing;

/// <summary>When the scoring stage of the two-stage topology judges a cluster's window complete.</summary>
public sealed record ServiceWindowAssemblyOptions
{
    /// <summary>
    /// Event-time watermark: a window is closed once parts of a window ending this much later arrived for
    /// its cluster, whatever is missing (a window-stage engine lagging more than this loses its parts: they
    /// arrive late and are dropped, counted).
    /// </summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Wall clock: a window is closed this long after its first part arrived, whatever is missing.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A service expected in every window is forgotten after this many windows without a part.</summary>
    public int ForgetAfterWindows { get; init; } = 10;
}

/// <summary>Counts of the scoring stage's assembly.</summary>
public sealed class ServiceWindowAssemblyCounters
{
    public long Parts,
        Windows,
        ClosedComplete,
        ClosedByWatermark,
        ClosedByTimeout,
        ClosedAtEnd,
        LateDropped,
        Duplicates;
}

/// <summary>
/// Regroups the per-service parts of windows (written by the window stage's engines, each owning some of a
/// cluster's services) into whole windows, emitted per cluster in event-time order. A window is complete
/// when a part arrived from every service the cluster had in its recent emitted windows; a window that does
/// not complete is closed by the event-time watermark (<see cref="ServiceWindowAssemblyOptions.Grace"/>), by
/// the wall-clock timeout, or at the end of the stream. A cluster's first window has no expected services:
/// it waits for the watermark, the timeout or the end. Parts for a window already emitted are late: dropped
/// and counted. A second part for the same (window, service) — a window-stage engine replaying after a
/// rebalance — is a duplicate: the first one is kept.
/// </summary>
internal sealed class ServiceWindowAssembler(ServiceWindowAssemblyOptions options)
{
    private sealed class Pending(long endMs, long firstArrivalMs)
    {
        public readonly long EndMs = endMs;
        public readonly long FirstArrivalMs = firstArrivalMs;
        public readonly Dictionary<string, ServiceWindow> Parts = new(StringComparer.Ordinal);
    }

    private sealed class Cluster
    {
        public readonly SortedDictionary<long, Pending> Open = [];

        /// <summary>Services of the emitted windows, with the start of the last window they had a part in.</summary>
        public readonly Dictionary<string, long> Expected = new(StringComparer.Ordinal);
        public long EmittedUpToStartMs = long.MinValue;
        public long MaxEndMs = long.MinValue;
    }

    private readonly Dictionary<string, Cluster> _clusters = new(StringComparer.Ordinal);

    public ServiceWindowAssemblyCounters Counters { get; } = new();

    /// <summary>Windows held, not yet emitted (all clusters).</summary>
    public int OpenWindows => _clusters.Values.Sum(c => c.Open.Count);

    /// <summary>Adds a part; appends the windows it completed (or pushed past the watermark) to
    /// <paramref name="closed"/>.</summary>
    /// <param name="nowMs">Wall clock, for the timeout.</param>
    /// <returns>False when the part was late or a duplicate (dropped).</returns>
    public bool Add(ServiceWindow part, long nowMs, List<WindowAggregate> closed)
    {
        Counters.Parts++;
        if (!_clusters.TryGetValue(part.Cluster, out var cluster))
            _clusters[part.Cluster] = cluster = new Cluster();
        if (part.StartMs <= cluster.EmittedUpToStartMs)
        {
            Counters.LateDropped++;
            return false;
        }
        if (!cluster.Open.TryGetValue(part.StartMs, out var pending))
            cluster.Open[part.StartMs] = pending = new Pending(part.EndMs, nowMs);
        if (!pending.Parts.TryAdd(part.Service, part))
        {
            Counters.Duplicates++;
            return false;
        }
        cluster.MaxEndMs = Math.Max(cluster.MaxEndMs, part.EndMs);
        CloseReady(part.Cluster, cluster, nowMs, closed);
        return true;
    }

    /// <summary>Closes windows whose timeout passed (call periodically, e.g. when no part arrives).</summary>
    public void Tick(long nowMs, List<WindowAggregate> closed)
    {
        foreach (var (name, cluster) in _clusters)
            CloseReady(name, cluster, nowMs, closed);
    }

    /// <summary>End of stream: emits every open window.</summary>
    public void Flush(List<WindowAggregate> closed)
    {
        foreach (var (name, cluster) in _clusters)
            while (cluster.Open.Count > 0)
            {
                Counters.ClosedAtEnd++;
                Emit(name, cluster, closed);
            }
    }

    private void CloseReady(string name, Cluster cluster, long nowMs, List<WindowAggregate> closed)
    {
        while (cluster.Open.Count > 0)
        {
            var (start, pending) = cluster.Open.First();
            if (IsComplete(cluster, start, pending))
                Counters.ClosedComplete++;
            else if (cluster.MaxEndMs >= pending.EndMs + (long)options.Grace.TotalMilliseconds)
                Counters.ClosedByWatermark++;
            else if (nowMs - pending.FirstArrivalMs >= (long)options.Timeout.TotalMilliseconds)
                Counters.ClosedByTimeout++;
            else
                break;
            Emit(name, cluster, closed);
        }
    }

    private bool IsComplete(Cluster cluster, long start, Pending pending)
    {
        if (cluster.Expected.Count == 0)
            return false;
        long forgetBefore = start - options.ForgetAfterWindows * (pending.EndMs - start);
        foreach (var (service, lastStart) in cluster.Expected)
            if (lastStart >= forgetBefore && !pending.Parts.ContainsKey(service))
                return false;
        return true;
    }

    private void Emit(string name, Cluster cluster, List<WindowAggregate> closed)
    {
        var (start, pending) = cluster.Open.First();
        cluster.Open.Remove(start);
        cluster.EmittedUpToStartMs = start;
        foreach (var service in pending.Parts.Keys)
            cluster.Expected[service] = start;
        // Past ForgetAfterWindows a silent service no longer holds windows back (IsComplete): forget it outright.
        long forgetBefore = start - options.ForgetAfterWindows * (pending.EndMs - start);
        foreach (var (service, lastStart) in cluster.Expected)
            if (lastStart < forgetBefore)
                cluster.Expected.Remove(service);
        Counters.Windows++;
        closed.Add(
            ServiceWindow.Merge(
                name,
                start,
                pending.EndMs,
                pending.Parts.Values.OrderBy(p => p.Service, StringComparer.Ordinal)
            )
        );
    }
}
