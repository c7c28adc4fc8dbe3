using System.Text.Json;
using System.Text.Json.Serialization;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Pipeline;

/// <summary>
/// Why a record or message was dead-lettered, as Confluent's <c>Error</c> carries a code beside its reason: what
/// metrics count and alerts and tests match on. The specifics (which field, which limit, which line) are in
/// <see cref="DeadLetter.Reason"/>. Written as snake_case text (<c>invalid_record</c>) in JSON, headers and labels.
/// </summary>
[JsonConverter(typeof(DeadLetterCodeJson))]
public enum DeadLetterCode
{
    /// <summary>A message or payload no decoder could read: malformed bytes, another format than the topic's.</summary>
    Undecodable,

    /// <summary>A decoded record that is not valid: no service or cluster, a timestamp that is not Unix milliseconds,
    /// a non-finite value, a negative duration.</summary>
    InvalidRecord,

    /// <summary>Refused by an ingest limit: label lengths, labels per record, clusters, services or series per
    /// window.</summary>
    OverLimit,

    /// <summary>Arrived after its window was emitted (later than the allowed lateness).</summary>
    Late,

    /// <summary>A dataset row that does not fit the mapping (file and line in the reason).</summary>
    MalformedRow,

    /// <summary>A verdict-feedback message that is not valid feedback.</summary>
    InvalidFeedback,
}

public static class DeadLetterCodes
{
    // Built once: dead letters can come in floods, and each is labelled for its header and its metric.
    private static readonly string[] Labels = Enum.GetValues<DeadLetterCode>()
        .Select(c => JsonNamingPolicy.SnakeCaseLower.ConvertName(c.ToString()))
        .ToArray();

    /// <summary>The code as it is written everywhere: snake_case (<c>over_limit</c>).</summary>
    public static string Label(this DeadLetterCode code) => Labels[(int)code];
}

internal sealed class DeadLetterCodeJson()
    : JsonStringEnumConverter<DeadLetterCode>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false);

/// <summary>A record the engine could not use, kept with why (code and specifics) so it can be inspected or
/// replayed.</summary>
public sealed record DeadLetter(
    string Stage,
    DeadLetterCode Code,
    string Reason,
    string Payload,
    long? TimestampMs = null
)
{
    // Bad records are exactly the ones holding NaN or infinity: keep them as "NaN" rather than fail to write them.
    private static readonly JsonSerializerOptions PayloadJson = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static DeadLetter For(string stage, DeadLetterCode code, string reason, TelemetryRecord record) =>
        new(stage, code, reason, JsonSerializer.Serialize<object>(record, PayloadJson), record.TimestampMs);
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
        lock (_lock)
        {
            _writer.WriteLine(line);
            _writer.Flush();
        }
    }

    public void Dispose() => _writer.Dispose();
}

/// <summary>Keeps dead letters in memory (tests, and the demo's summary), capped so a flood cannot exhaust
/// memory.</summary>
public sealed class MemoryDeadLetterSink(int capacity = 10_000) : IDeadLetterSink
{
    private readonly List<DeadLetter> _letters = [];
    private long _total;

    public long Total => Interlocked.Read(ref _total);
    public IReadOnlyList<DeadLetter> Letters
    {
        get
        {
            lock (_letters)
                return _letters.ToArray();
        }
    }

    public void Write(DeadLetter letter)
    {
        Interlocked.Increment(ref _total);
        lock (_letters)
            if (_letters.Count < capacity)
                _letters.Add(letter);
    }
}
