namespace LogWhisperer.Sources;

/// <summary>
/// A Kafka source whose read a rebalance ends (<see cref="PartitionsRevokedException"/>), as
/// Hosting.RebalanceLoop drives it: one pipeline per partition assignment.
/// </summary>
internal interface IRevocableSource
{
    /// <summary>
    /// Called first when a rebalance takes the partitions away, on the consumer's thread, before the offsets are
    /// committed and before the group moves on: the pipeline must publish nothing more and report no more windows
    /// done once it returns (the next owner reads the output topic to skip what was published).
    /// </summary>
    Action? PartitionsRevoking { get; set; }

    /// <summary>Rebalances that took partitions from this engine.</summary>
    int Revocations { get; }

    /// <summary>Call once the pipeline has drained (every window flushed): all input read so far is handled.</summary>
    void AllFlushed();

    /// <summary>Commits what the pipeline has finished with.</summary>
    void CommitReady();
}
