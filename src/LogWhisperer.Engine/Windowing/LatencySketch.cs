namespace LogWhisperer.Windowing;

/// <summary>
/// A fixed-size log-bucketed histogram (DDSketch-like, ~5 % relative error) for latency quantiles: constant
/// memory per series however many spans arrive, and mergeable.
/// </summary>
public sealed class LatencySketch
{
    private const double Gamma = 1.1;
    private const double MinMs = 0.01;
    private const int Buckets = 200; // 0.01 ms .. ~1.9e6 ms
    private static readonly double LogGamma = Math.Log(Gamma);
    private readonly int[] _counts = new int[Buckets];

    public long Count { get; private set; }

    public void Add(double ms)
    {
        int bucket = ms <= MinMs ? 0 : Math.Min(Buckets - 1, (int)Math.Ceiling(Math.Log(ms / MinMs) / LogGamma));
        _counts[bucket]++;
        Count++;
    }

    /// <summary>Per-bucket counts (the whole state with <see cref="Count"/>), for encoding a sketch.</summary>
    public ReadOnlySpan<int> BucketCounts => _counts;

    /// <summary>Adds counts read from <see cref="BucketCounts"/> (decoding, or merging another sketch).</summary>
    public void AddBucket(int bucket, int count)
    {
        if ((uint)bucket >= Buckets || count < 0)
            throw new InvalidDataException($"latency sketch bucket {bucket} count {count} out of range");
        _counts[bucket] += count;
        Count += count;
    }

    /// <summary>The q-quantile (0..1), or NaN when empty.</summary>
    public double Quantile(double q)
    {
        if (Count == 0)
            return double.NaN;
        long rank = (long)Math.Ceiling(q * Count);
        long seen = 0;
        for (int i = 0; i < Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= rank && _counts[i] > 0)
                return i == 0 ? MinMs : MinMs * Math.Pow(Gamma, i - 0.5); // bucket midpoint (geometric)
        }
        return MinMs * Math.Pow(Gamma, Buckets - 1);
    }
}
