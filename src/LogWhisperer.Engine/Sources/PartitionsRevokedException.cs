namespace LogWhisperer.Sources;

/// <summary>A rebalance took this engine's partitions: the read ends; state is rebuilt from the committed
/// offsets.</summary>
internal sealed class PartitionsRevokedException()
    : OperationCanceledException("kafka: partitions revoked by a rebalance");
