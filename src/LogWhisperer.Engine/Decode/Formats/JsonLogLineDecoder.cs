using System.Text.Json;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Formats;

/// <summary> One JSON log object per message, as log shippers write them to Kafka: Fluent Bit
/// (<c>{"@timestamp":1767225600.123,"log":"…",
/// "kubernetes":{"pod_name","namespace_name","container_name","labels":{…}}}</c>),
/// Vector
/// (<c>{"timestamp":"2026-…Z","message":"…","kubernetes":{"container_name","pod_namespace","pod_labels":{…}}}</c>),
/// rsyslog's JSON templates (<c>{"@timestamp","programname","severity","msg"}</c>). Kubernetes metadata and pod labels
/// become labels, so the service is found through <see cref="DecodeOptions.ServiceLabels"/>.
/// </summary>
internal sealed class JsonLogLineDecoder(DecodeOptions options) : ITelemetryDecoder
{
    private static readonly string[] TimeKeys = ["@timestamp", "timestamp", "time", "date", "ts", "timereported"];
    private static readonly string[] MessageKeys = ["message", "log", "msg", "MESSAGE"];
    private static readonly string[] LevelKeys =
    [
        "level",
        "severity",
        "log.level",
        "lvl",
        "syslog_severity_text",
        "loglevel",
    ];

    public TelemetryFormat Format => TelemetryFormat.JsonLogLine;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        using var doc = JsonFormat.Parse(payload, "json log");
        JsonFormat.Guard(
            "json log",
            () =>
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException("json log: the message is not a JSON object");

                var labels = new Dictionary<string, string>();
                foreach (var p in root.EnumerateObject())
                    if (p.Value.ValueKind == JsonValueKind.String)
                        labels[p.Name] = p.Value.GetString()!;
                if (root.TryGetProperty("kubernetes", out var k8s) && k8s.ValueKind == JsonValueKind.Object)
                {
                    // Kubernetes metadata is the weaker identity: labels the line set itself win.
                    foreach (var p in k8s.EnumerateObject())
                    {
                        if (p.Value.ValueKind == JsonValueKind.String)
                            labels.TryAdd(p.Name, p.Value.GetString()!);
                        else if (p.Value.ValueKind == JsonValueKind.Object && p.Name is "labels" or "pod_labels")
                            foreach (var l in p.Value.EnumerateObject())
                                if (l.Value.ValueKind == JsonValueKind.String)
                                    labels.TryAdd(l.Name, l.Value.GetString()!);
                    }
                }

                string? message = null;
                foreach (var key in MessageKeys)
                    if (root.TryGetProperty(key, out var m) && m.ValueKind == JsonValueKind.String)
                    {
                        message = m.GetString();
                        break;
                    }
                if (message is null)
                    throw new InvalidDataException($"json log: no message field ({string.Join(", ", MessageKeys)})");

                long? ts = null;
                foreach (var key in TimeKeys)
                {
                    if (!root.TryGetProperty(key, out var t))
                        continue;
                    ts = t.ValueKind switch
                    {
                        JsonValueKind.Number => Timestamps.FromEpochNumber(t.GetDouble()),
                        JsonValueKind.String => Timestamps.FromText(t.GetString()!, "json log"),
                        _ => throw new InvalidDataException($"json log: \"{key}\" is neither a number nor a string"),
                    };
                    break;
                }
                if (ts is null)
                    throw new InvalidDataException($"json log: no timestamp field ({string.Join(", ", TimeKeys)})");

                LogSeverity? severity = null;
                foreach (var key in LevelKeys)
                    if (labels.TryGetValue(key, out var level) && (severity = Severity.FromLevel(level)) is not null)
                        break;
                var (traceId, spanId) = TraceContext.From(labels, message);
                output.Add(
                    new LogRecord(
                        ts.Value,
                        options.ClusterOf(labels),
                        options.ServiceOf(labels),
                        severity ?? Severity.FromLine(message),
                        message,
                        traceId,
                        spanId
                    )
                );
            }
        );
    }
}
