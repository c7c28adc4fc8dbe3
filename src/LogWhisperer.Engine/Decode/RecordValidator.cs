using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode;

/// <summary>
/// The decode stage's checks on a record, whatever source produced it: a record that would poison the
/// windows (no service, a timestamp from another era, a NaN) is rejected with a reason instead.
/// Wire-format decoders (Kafka, gateway) produce <see cref="TelemetryRecord"/>s and pass through here too.
/// </summary>
public static class RecordValidator
{
    // 2000-01-01 .. 2200-01-01: anything outside is a unit mistake (seconds vs ms vs ns), not an event.
    private const long MinTimestampMs = 946_684_800_000;
    private const long MaxTimestampMs = 7_258_118_400_000;

    /// <summary>Returns null when the record is usable, otherwise why not.</summary>
    public static string? Validate(TelemetryRecord record)
    {
        if (string.IsNullOrWhiteSpace(record.Service))
            return "missing service";
        if (string.IsNullOrWhiteSpace(record.Cluster))
            return "missing cluster";
        if (record.TimestampMs is < MinTimestampMs or > MaxTimestampMs)
            return $"timestamp {record.TimestampMs} is not Unix milliseconds between 2000 and 2200";
        return record switch
        {
            MetricSample m when string.IsNullOrEmpty(m.Name) => "metric without a name",
            MetricSample m when !double.IsFinite(m.Value) => $"metric {m.Name} has non-finite value {m.Value}",
            SpanRecord s when !double.IsFinite(s.DurationMs) || s.DurationMs < 0 =>
                $"span duration {s.DurationMs} is not a finite non-negative number",
            SpanRecord s when string.IsNullOrEmpty(s.SpanId) || string.IsNullOrEmpty(s.TraceId) =>
                "span without trace or span id",
            LogRecord l when l.Message is null => "log record without a message",
            _ => null,
        };
    }
}
