using System.Collections.Concurrent;
using System.Diagnostics;

namespace LogWhisperer.Observability;

/// <summary>
/// Processing time from a window's close (the windower emits it, or it arrives from a window engine) to its
/// being done (event written, judged quiet, or used for warm-up), in wall-clock time: what the engine adds to
/// an incident's detection on top of the window itself. Keeps the latest <see cref="Capacity"/> figures for
/// quantiles; windows in flight are bounded by the pipeline's channels.
/// </summary>
public sealed class WindowLatency
{
    public const int Capacity = 4096;
    private readonly ConcurrentDictionary<(string Cluster, long EndMs), long> _closedAt = new();
    private readonly double[] _all = new double[Capacity],
        _withEvent = new double[Capacity];
    private long _countAll,
        _countWithEvent;
    private readonly Lock _lock = new();

    internal void Closed(string cluster, long endMs) => _closedAt[(cluster, endMs)] = Stopwatch.GetTimestamp();

    /// <returns>Seconds since the window closed; null when its close was not seen.</returns>
    internal double? Done(string cluster, long endMs, bool withEvent)
    {
        if (!_closedAt.TryRemove((cluster, endMs), out long closed))
            return null;
        double seconds = Stopwatch.GetElapsedTime(closed).TotalSeconds;
        lock (_lock)
        {
            _all[_countAll++ % Capacity] = seconds;
            if (withEvent)
                _withEvent[_countWithEvent++ % Capacity] = seconds;
        }
        return seconds;
    }

    /// <summary>Windows measured so far (all, and those that produced an event).</summary>
    public (long All, long WithEvent) Count
    {
        get
        {
            lock (_lock)
                return (_countAll, _countWithEvent);
        }
    }

    /// <summary>The <paramref name="q"/> quantile (0..1) of the latest figures, in seconds; NaN before any.</summary>
    public double Quantile(double q, bool withEventOnly = false)
    {
        double[] sorted;
        lock (_lock)
        {
            var (source, count) = withEventOnly ? (_withEvent, _countWithEvent) : (_all, _countAll);
            sorted = source.AsSpan(0, (int)Math.Min(count, Capacity)).ToArray();
        }
        if (sorted.Length == 0)
            return double.NaN;
        Array.Sort(sorted);
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Round(q * (sorted.Length - 1)))];
    }
}
