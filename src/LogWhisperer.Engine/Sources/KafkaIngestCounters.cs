namespace LogWhisperer.Sources;

/// <summary>Counts kept by the Kafka source, per run.</summary>
public sealed class KafkaIngestCounters
{
    private long _messages,
        _records,
        _undecodable,
        _commits;
    public long Messages => Interlocked.Read(ref _messages);
    public long Records => Interlocked.Read(ref _records);
    public long Undecodable => Interlocked.Read(ref _undecodable);
    public long Commits => Interlocked.Read(ref _commits);

    internal void Message(int records)
    {
        Interlocked.Increment(ref _messages);
        Interlocked.Add(ref _records, records);
    }

    internal void Bad() => Interlocked.Increment(ref _undecodable);

    internal void Commit() => Interlocked.Increment(ref _commits);

    public override string ToString() =>
        $"kafka: {Messages:N0} message(s), {Records:N0} record(s), "
        + $"{Undecodable:N0} undecodable, {Commits:N0} commit(s)";
}
