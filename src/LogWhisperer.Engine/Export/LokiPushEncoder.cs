using System.Buffers;
using System.Globalization;
using System.Text.Json;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Export;

/// <summary>
/// Log records as a Loki push API request (POST /loki/api/v1/push, JSON):
/// <c>{"streams":[{"stream":{labels},"values":[["&lt;unix ns&gt;","&lt;line&gt;"]]}]}</c>. One stream per
/// (service, level), in order of first appearance; entries of a stream in time order, as Loki expects.
/// </summary>
internal static class LokiPushEncoder
{
    public static byte[]? Encode(IReadOnlyList<TelemetryRecord> batch, string namespaceName)
    {
        var buffer = new ArrayBufferWriter<byte>();
        return Encode(batch, namespaceName, buffer) ? buffer.WrittenSpan.ToArray() : null;
    }

    /// <summary>Writes the request into <paramref name="output"/>; false (nothing written) when the batch has no
    /// logs.</summary>
    public static bool Encode(IReadOnlyList<TelemetryRecord> batch, string namespaceName, IBufferWriter<byte> output)
    {
        var streams = new OrderedDictionary<(string Cluster, string Service, LogSeverity Level), List<LogRecord>>();
        foreach (var r in batch)
        {
            if (r is not LogRecord log)
                continue;
            var key = (log.Cluster, log.Service, log.Severity);
            if (!streams.TryGetValue(key, out var list))
                streams[key] = list = [];
            list.Add(log);
        }
        if (streams.Count == 0)
            return false;

        using (var json = new Utf8JsonWriter(output))
        {
            json.WriteStartObject();
            json.WriteStartArray("streams");
            foreach (var ((cluster, service, level), lines) in streams)
            {
                json.WriteStartObject();
                json.WriteStartObject("stream");
                json.WriteString("cluster", cluster);
                json.WriteString("namespace", namespaceName);
                json.WriteString("app", service);
                json.WriteString("container", service);
                json.WriteString("pod", Workload.PodName(service));
                json.WriteString("level", LevelName(level));
                json.WriteEndObject();
                json.WriteStartArray("values");
                foreach (var line in lines.OrderBy(l => l.TimestampMs)) // stable: same-time lines keep their order
                {
                    json.WriteStartArray();
                    json.WriteStringValue((line.TimestampMs * 1_000_000L).ToString(CultureInfo.InvariantCulture));
                    json.WriteStringValue(line.Message);
                    if (line.TraceId is not null || line.SpanId is not null)
                    {
                        // Loki 3 structured metadata: the trace and span the line was written in.
                        json.WriteStartObject();
                        if (line.TraceId is { } trace)
                            json.WriteString("trace_id", trace);
                        if (line.SpanId is { } span)
                            json.WriteString("span_id", span);
                        json.WriteEndObject();
                    }
                    json.WriteEndArray();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return true;
    }

    public static string LevelName(LogSeverity level) =>
        level switch
        {
            LogSeverity.Debug => "debug",
            LogSeverity.Info => "info",
            LogSeverity.Warn => "warn",
            LogSeverity.Error => "error",
            _ => "fatal",
        };
}
