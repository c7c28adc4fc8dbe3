using System.Buffers;
using System.Globalization;
using System.Text.Json;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Export;

/// <summary>
/// Spans as an OTLP/JSON ExportTraceServiceRequest (POST /v1/traces): resourceSpans per service, one
/// scopeSpans each, spans with hex traceId/spanId, times as Unix-nanosecond strings, kind and status code
/// as the protocol's enum integers (the OTLP/JSON encoding rules).
/// </summary>
internal static class OtlpJsonEncoder
{
    public const string ScopeName = "logwhisperer.chaos";
    public const int StatusUnset = 0,
        StatusError = 2;

    /// <summary>OTLP's SpanKind numbering (0 is unspecified).</summary>
    public static int KindNumber(SpanKind kind) =>
        kind switch
        {
            SpanKind.Internal => 1,
            SpanKind.Server => 2,
            SpanKind.Client => 3,
            SpanKind.Producer => 4,
            _ => 5,
        };

    public static byte[]? Encode(IReadOnlyList<TelemetryRecord> batch, string namespaceName)
    {
        var buffer = new ArrayBufferWriter<byte>();
        return Encode(batch, namespaceName, buffer) ? buffer.WrittenSpan.ToArray() : null;
    }

    /// <summary>Writes the request into <paramref name="output"/>; false (nothing written) when the batch has no
    /// spans.</summary>
    public static bool Encode(IReadOnlyList<TelemetryRecord> batch, string namespaceName, IBufferWriter<byte> output)
    {
        var byService = new OrderedDictionary<(string Cluster, string Service), List<SpanRecord>>();
        foreach (var r in batch)
        {
            if (r is not SpanRecord span)
                continue;
            var key = (span.Cluster, span.Service);
            if (!byService.TryGetValue(key, out var list))
                byService[key] = list = [];
            list.Add(span);
        }
        if (byService.Count == 0)
            return false;

        using (var json = new Utf8JsonWriter(output))
        {
            json.WriteStartObject();
            json.WriteStartArray("resourceSpans");
            foreach (var ((cluster, service), spans) in byService)
            {
                json.WriteStartObject();
                json.WriteStartObject("resource");
                json.WriteStartArray("attributes");
                Attribute(json, "service.name", service);
                Attribute(json, "k8s.cluster.name", cluster);
                Attribute(json, "k8s.namespace.name", namespaceName);
                Attribute(json, "k8s.pod.name", Workload.PodName(service));
                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteStartArray("scopeSpans");
                json.WriteStartObject();
                json.WriteStartObject("scope");
                json.WriteString("name", ScopeName);
                json.WriteEndObject();
                json.WriteStartArray("spans");
                foreach (var s in spans)
                    WriteSpan(json, s);
                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return true;
    }

    private static void WriteSpan(Utf8JsonWriter json, SpanRecord s)
    {
        long startNs = s.TimestampMs * 1_000_000L;
        long endNs = startNs + (long)Math.Round(s.DurationMs * 1_000_000);
        json.WriteStartObject();
        json.WriteString("traceId", s.TraceId);
        json.WriteString("spanId", s.SpanId);
        if (!string.IsNullOrEmpty(s.ParentSpanId))
            json.WriteString("parentSpanId", s.ParentSpanId);
        json.WriteString("name", s.Operation);
        json.WriteNumber("kind", KindNumber(s.Kind));
        WriteInt64String(json, "startTimeUnixNano", startNs);
        WriteInt64String(json, "endTimeUnixNano", endNs);
        if (s.PeerService is not null)
        {
            json.WriteStartArray("attributes");
            Attribute(json, "peer.service", s.PeerService);
            json.WriteEndArray();
        }
        json.WriteStartObject("status");
        if (s.IsError)
            json.WriteNumber("code", StatusError);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>64-bit integers are decimal strings in OTLP/JSON; formatted without allocating.</summary>
    private static void WriteInt64String(Utf8JsonWriter json, string name, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out int written, default, CultureInfo.InvariantCulture);
        json.WriteString(name, digits[..written]);
    }

    private static void Attribute(Utf8JsonWriter json, string key, string value)
    {
        json.WriteStartObject();
        json.WriteString("key", key);
        json.WritePropertyName("value");
        json.WriteStartObject();
        json.WriteString("stringValue", value);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
