namespace LogWhisperer.Simulation;

/// <summary>
/// One caller's circuit breaker towards one destination: closed (counting consecutive failures), open
/// (failing fast until a deadline), then half-open (the next call is a probe: success closes it, failure
/// opens it again at once).
/// </summary>
internal sealed class CircuitBreaker(CircuitBreakerSpec spec)
{
    private int _consecutiveFailures;
    private double _openUntilMs = double.NegativeInfinity;
    private bool _probing;

    public CircuitBreakerSpec Spec => spec;

    /// <summary>Whether a call at <paramref name="timeMs"/> may go out (false: fail fast).</summary>
    public bool Allows(double timeMs)
    {
        if (timeMs < _openUntilMs)
            return false;
        if (_consecutiveFailures >= spec.ConsecutiveFailures)
            _probing = true; // half-open: this call is the probe
        return true;
    }

    /// <summary>Records a call's outcome; true when this outcome opened the circuit.</summary>
    public bool Report(bool failed, double timeMs)
    {
        if (!failed)
        {
            _consecutiveFailures = 0;
            _probing = false;
            return false;
        }
        _consecutiveFailures++;
        if (!_probing && _consecutiveFailures < spec.ConsecutiveFailures)
            return false;
        _probing = false;
        _openUntilMs = timeMs + spec.OpenMs;
        return true;
    }
}
