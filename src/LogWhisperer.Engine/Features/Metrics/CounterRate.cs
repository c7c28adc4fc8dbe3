namespace LogWhisperer.Features.Metrics;

/// <summary>
/// Turns a monotonic counter (…_total, histogram buckets) into increases and per-second rates. A value lower
/// than the previous one is a reset (the process restarted): the increase is then the new value itself, as
/// PromQL's rate() assumes, never a negative number.
/// </summary>
internal sealed class CounterRate
{
    private long _lastMs = long.MinValue;
    private double _last;

    public bool HasValue => _lastMs != long.MinValue;

    /// <summary>Time of the last sample taken into account (long.MinValue before the first).</summary>
    public long LastMs => _lastMs;
    public int Resets { get; private set; }

    /// <summary>Adds a sample; returns the increase since the previous one (NaN for the first sample).</summary>
    public double Add(long timestampMs, double value)
    {
        if (!double.IsFinite(value))
            return double.NaN;
        if (!HasValue)
        {
            _lastMs = timestampMs;
            _last = value;
            return double.NaN;
        }
        if (timestampMs <= _lastMs)
            return 0; // duplicate or out-of-order scrape: nothing new
        double increase = value >= _last ? value - _last : value;
        if (value < _last)
            Resets++;
        _lastMs = timestampMs;
        _last = value;
        return increase;
    }

    /// <summary>Adds a sample; returns the per-second rate since the previous one (NaN for the first).</summary>
    public double AddRate(long timestampMs, double value)
    {
        long previous = _lastMs;
        double increase = Add(timestampMs, value);
        return double.IsNaN(increase) || timestampMs <= previous
            ? double.NaN
            : increase * 1000.0 / (timestampMs - previous);
    }
}
