namespace LogWhisperer.Sources;

/// <summary>
/// A rebalance taking a consumer's partitions, between its revoke callback and its read, for both Kafka sources.
/// librdkafka calls the callback from inside Consume, on the read's thread. <see cref="Revoked"/> keeps the
/// order that makes the commit safe: fence the pipeline first (<see cref="Revoking"/>), then let the source commit
/// what it published and start its per-assignment state afresh; the read, back from Consume, then ends with
/// <see cref="PartitionsRevokedException"/> (<see cref="EndIfRevoked"/>) and the next pipeline reads on.
/// </summary>
internal sealed class ConsumerRevocation<TMessage>
    where TMessage : class
{
    private volatile bool _revoked;
    private TMessage? _carried; // consumed after a revocation: the next read's first message

    /// <summary>The running pipeline's fence (see <see cref="IRevocableSource.PartitionsRevoking"/>).</summary>
    public Action? Revoking { get; set; }

    /// <summary>Rebalances that took partitions from this consumer.</summary>
    public int Count { get; private set; }

    /// <summary>In the revoke callback: the fence, then <paramref name="reset"/> (commit, fresh state).</summary>
    public void Revoked(Action reset)
    {
        Revoking?.Invoke();
        reset();
        _revoked = true;
        Count++;
    }

    /// <summary>A read starts, for a fresh pipeline.</summary>
    public void ReadStarting() => _revoked = false;

    /// <summary>Before each Consume: a message the last read kept (it came with the new assignment), if any.</summary>
    public TMessage? TakeCarried()
    {
        var message = _carried;
        _carried = null;
        return message;
    }

    /// <summary>
    /// After each Consume: ends the read if a revocation came inside it. What the read held belongs to the pipeline
    /// being torn down; the message that came with the new assignment (positioned at the committed offsets) starts
    /// the next read.
    /// </summary>
    public void EndIfRevoked(TMessage? consumed)
    {
        if (!_revoked)
            return;
        _carried = consumed;
        throw new PartitionsRevokedException();
    }
}
