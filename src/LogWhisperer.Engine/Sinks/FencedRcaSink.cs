using LogWhisperer.Explain;

namespace LogWhisperer.Sinks;

/// <summary>
/// Lets one pipeline publish until it is fenced off. When a rebalance takes an engine's partitions, the
/// pipeline still holds windows of those clusters; once <see cref="Close"/> returns, none of them reaches
/// the output any more (a write in flight is waited for, later ones are dropped), so the next owner, which
/// reads the output topic after the rebalance, knows everything this engine published.
/// </summary>
internal sealed class FencedRcaSink(IRcaSink inner) : IRcaSink
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _closed;
    private long _dropped;

    public bool Closed => _closed;

    /// <summary>Events dropped after the fence closed (the partitions' next owner publishes them).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_closed)
            {
                Interlocked.Increment(ref _dropped);
                return;
            }
            await inner.WriteAsync(rca, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Quiet windows end incidents (alert sinks resolve them); past the fence, the next owner reports
    /// them.</summary>
    public async ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_closed)
                await inner.QuietAsync(cluster, windowEnd, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Waits for the write in flight, if any, and drops every later one.</summary>
    public void Close()
    {
        _gate.Wait();
        _closed = true;
        _gate.Release();
    }
}
