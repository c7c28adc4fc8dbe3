namespace LogWhisperer.Pipeline;

/// <summary>
/// A Prometheus-style histogram with fixed upper bounds: lock-free observations, cumulative buckets on read.
/// </summary>
public sealed class Histogram
{
    private readonly double[] _bounds;
    private readonly long[] _counts; // per bucket (not cumulative), the last one is +Inf
    private long _sumMicros;         // sum in millionths, so it can be added with Interlocked

    public Histogram(params double[] upperBounds)
    {
        if (upperBounds.Length == 0 || upperBounds.Zip(upperBounds.Skip(1)).Any(p => p.First >= p.Second))
            throw new ArgumentException("bucket bounds must be non-empty and strictly increasing", nameof(upperBounds));
        _bounds = upperBounds;
        _counts = new long[upperBounds.Length + 1];
    }

    public IReadOnlyList<double> UpperBounds => _bounds;
    public long Count => CumulativeCounts()[^1];
    public double Sum => Interlocked.Read(ref _sumMicros) / 1e6;

    public void Observe(double value)
    {
        if (double.IsNaN(value)) return;
        int i = 0;
        while (i < _bounds.Length && value > _bounds[i]) i++;
        Interlocked.Increment(ref _counts[i]);
        Interlocked.Add(ref _sumMicros, (long)Math.Clamp(value * 1e6, long.MinValue / 4, long.MaxValue / 4));
    }

    /// <summary>Cumulative counts per bound, then the total (the +Inf bucket).</summary>
    public long[] CumulativeCounts()
    {
        var cumulative = new long[_counts.Length];
        long running = 0;
        for (int i = 0; i < _counts.Length; i++) cumulative[i] = running += Interlocked.Read(ref _counts[i]);
        return cumulative;
    }
}
