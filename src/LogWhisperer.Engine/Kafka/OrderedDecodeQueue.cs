using Confluent.Kafka;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Kafka;

/// <summary>
/// Decodes consumed messages beside the consumer loop and hands them back in consumption order. Decoding is
/// most of the loop's time, and on the consumer thread it would use one core of two; here each topic's messages
/// decode in a chain of tasks of their own (a stateful decoder sees its messages in order) while the consumer
/// thread goes on consuming, and takes each message's records back when its turn comes. Used by one thread.
/// </summary>
internal sealed class OrderedDecodeQueue(Func<ConsumeResult<byte[]?, byte[]>, List<TelemetryRecord>> decode)
{
    private readonly Queue<(ConsumeResult<byte[]?, byte[]> Message, Task<List<TelemetryRecord>> Records)> _inFlight =
        new();
    private readonly Dictionary<string, Task> _chains = new(StringComparer.Ordinal);

    public int Count => _inFlight.Count;

    /// <summary>Starts decoding the message after the topic's earlier ones.</summary>
    public void Add(ConsumeResult<byte[]?, byte[]> message)
    {
        var previous = _chains.GetValueOrDefault(message.Topic) ?? Task.CompletedTask;
        var decoding = previous.ContinueWith(
            _ => decode(message),
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default
        );
        _chains[message.Topic] = decoding;
        _inFlight.Enqueue((message, decoding));
    }

    /// <summary>The oldest message and its records once decoded; with <paramref name="wait"/>, waits for
    /// them.</summary>
    public bool TryTake(bool wait, out ConsumeResult<byte[]?, byte[]> message, out List<TelemetryRecord> records)
    {
        if (!_inFlight.TryPeek(out var head) || !(wait || head.Records.IsCompleted))
        {
            message = null!;
            records = null!;
            return false;
        }
        _inFlight.Dequeue();
        message = head.Message;
        records = head.Records.GetAwaiter().GetResult(); // a decoder bug surfaces as itself, not wrapped
        return true;
    }

    /// <summary>Forgets the messages not taken yet: after a rebalance they belong to the pipeline torn down, and are
    /// re-read.</summary>
    public void Clear() => _inFlight.Clear();
}
