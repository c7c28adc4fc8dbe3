namespace LogWhisperer.Features;

/// <summary>
/// Median and MAD over the last N values of one series. Robust: a short incident inside the history
/// barely moves the median, so the next incident is still measured against normal behaviour.
/// </summary>
internal sealed class RobustBaseline(int capacity)
{
    private readonly double[] _values = new double[capacity];
    private readonly double[] _scratch = new double[capacity];
    private int _count,
        _next;
    private double _median = double.NaN,
        _mad = double.NaN;
    private bool _dirty;

    public int Count => _count;

    public void Add(double value)
    {
        if (!double.IsFinite(value))
            return;
        _values[_next] = value;
        _next = (_next + 1) % _values.Length;
        _count = Math.Min(_count + 1, _values.Length);
        _dirty = true;
    }

    public double Median
    {
        get
        {
            Refresh();
            return _median;
        }
    }
    public double Mad
    {
        get
        {
            Refresh();
            return _mad;
        }
    }

    /// <summary>Robust z of <paramref name="value"/>; the scale never drops below the floors, so a flat series
    /// does not turn noise into huge scores. 0 when there is no value or too little history.</summary>
    public double Z(double value, double absoluteFloor, double relativeFloor = 0.1)
    {
        if (!double.IsFinite(value) || _count < 3)
            return 0;
        Refresh();
        double scale = Math.Max(1.4826 * _mad, Math.Max(absoluteFloor, relativeFloor * Math.Abs(_median)));
        return scale <= 0 ? 0 : (value - _median) / scale;
    }

    private void Refresh()
    {
        if (!_dirty)
            return;
        _dirty = false;
        if (_count == 0)
        {
            _median = _mad = double.NaN;
            return;
        }
        var span = _scratch.AsSpan(0, _count);
        _values.AsSpan(0, _count).CopyTo(span);
        span.Sort();
        _median = MedianOfSorted(span);
        for (int i = 0; i < span.Length; i++)
            span[i] = Math.Abs(span[i] - _median);
        span.Sort();
        _mad = MedianOfSorted(span);
    }

    private static double MedianOfSorted(ReadOnlySpan<double> s) =>
        s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}
