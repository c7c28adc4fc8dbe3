using System.Text.Json;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Pipeline;

/// <summary>A record the engine could not use, kept with the reason so it can be inspected or replayed.</summary>
public sealed record DeadLetter(string Stage, string Reason, string Payload, long? TimestampMs = null)
{
    // Bad records are exactly the ones holding NaN or infinity: keep them as "NaN" rather than fail to write them.
    private static readonly JsonSerializerOptions PayloadJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static DeadLetter For(string stage, string reason, TelemetryRecord record) =>
        new(stage, reason, JsonSerializer.Serialize<object>(record, PayloadJson), record.TimestampMs);
}

public interface IDeadLetterSink
{
    void Write(DeadLetter letter);
}

/// <summary>Appends dead letters as JSON lines to a file (thread-safe).</summary>
public sealed class FileDeadLetterSink(string path) : IDeadLetterSink, IDisposable
{
    private readonly StreamWriter _writer = new(path, append: true);
    private readonly Lock _lock = new();

    public void Write(DeadLetter letter)
    {
        var line = JsonSerializer.Serialize(letter);
        lock (_lock) { _writer.WriteLine(line); _writer.Flush(); }
    }

    public void Dispose() => _writer.Dispose();
}

/// <summary>Keeps dead letters in memory (tests, and the demo's summary), capped so a flood cannot exhaust memory.</summary>
public sealed class MemoryDeadLetterSink(int capacity = 10_000) : IDeadLetterSink
{
    private readonly List<DeadLetter> _letters = [];
    private long _total;

    public long Total => Interlocked.Read(ref _total);
    public IReadOnlyList<DeadLetter> Letters { get { lock (_letters) return _letters.ToArray(); } }

    public void Write(DeadLetter letter)
    {
        Interlocked.Increment(ref _total);
        lock (_letters) if (_letters.Count < capacity) _letters.Add(letter);
    }
}
