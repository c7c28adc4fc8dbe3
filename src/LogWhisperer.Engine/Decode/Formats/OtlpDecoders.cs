using System.Globalization;
using System.Text.Json;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Formats;

/// <summary>
/// OTLP (opentelemetry-proto v1) as the OpenTelemetry Collector's Kafka exporter writes it: otlp_proto is
/// TracesData / LogsData (the same wire format as the Export*ServiceRequest bodies of OTLP/HTTP), otlp_json
/// is their protobuf-JSON mapping (camelCase, ids as hex, 64-bit integers as strings). The service is the
/// resource's service.name (or the next label in <see cref="DecodeOptions.ServiceLabels"/>).
/// </summary>
internal static class Otlp
{
    /// <summary>A trace or span id as lower-case hex; null when absent or all zero (OTLP's "no id").</summary>
    internal static string? HexId(ReadOnlySpan<byte> id) =>
        id.IsEmpty || id.IndexOfAnyExcept((byte)0) < 0 ? null : Convert.ToHexStringLower(id);

    internal delegate TelemetryRecord ItemReader(ReadOnlySpan<byte> data, string cluster, string service);

    /// <summary>
    /// OTLP/JSON's nesting, the same for both signals: {resourceX: [{resource, scopeX: [{items: [...]}]}]}.
    /// Calls <paramref name="item"/> for each item with the cluster and service its resource names.
    /// </summary>
    internal static void JsonResourceItems(
        JsonElement root,
        string resources,
        string scopes,
        string items,
        string what,
        DecodeOptions options,
        Action<JsonElement, string, string> item
    )
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{what}: not a JSON object");
        foreach (var r in JsonArray(root, resources, what))
        {
            var resource = JsonResource(r, what);
            string cluster = options.ClusterOf(resource),
                service = options.ServiceOf(resource);
            foreach (var scope in JsonArray(r, scopes, what))
            foreach (var element in JsonArray(scope, items, what))
                item(element, cluster, service);
        }
    }

    /// <summary>TracesData / LogsData { repeated ResourceSpans / ResourceLogs = 1 }: every resource's items.</summary>
    internal static void ProtoPayload(
        ReadOnlySpan<byte> payload,
        List<TelemetryRecord> output,
        DecodeOptions options,
        ItemReader item
    )
    {
        var r = new ProtoReader(payload);
        while (r.Next(out int f, out int wt))
        {
            if (f == 1)
            {
                ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                ProtoResourceItems(r.ReadBytes(), output, options, item);
            }
            else
                r.Skip(wt);
        }
    }

    /// <summary>
    /// ResourceSpans / ResourceLogs { Resource resource = 1; repeated ScopeSpans / ScopeLogs = 2 }, whose
    /// scope holds its spans / log records in field 2: the same nesting for both signals.
    /// </summary>
    internal static void ProtoResourceItems(
        ReadOnlySpan<byte> data,
        List<TelemetryRecord> output,
        DecodeOptions options,
        ItemReader item
    )
    {
        // The resource may follow its items on the wire: find it first, so each record is built once with its identity.
        Dictionary<string, string> resource = [];
        var r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            if (f == 1)
            {
                ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                resource = ProtoResource(r.ReadBytes());
            }
            else
                r.Skip(wt);
        }
        string cluster = options.ClusterOf(resource),
            service = options.ServiceOf(resource);
        r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            if (f != 2)
            {
                r.Skip(wt);
                continue;
            }
            ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
            var s = new ProtoReader(r.ReadBytes());
            while (s.Next(out int sf, out int swt))
            {
                if (sf == 2)
                {
                    ProtoReader.Expect(sf, swt, ProtoReader.LengthDelimited);
                    output.Add(item(s.ReadBytes(), cluster, service));
                }
                else
                    s.Skip(swt);
            }
        }
    }

    // Attributes of a client span that name the callee, in the order OpenTelemetry's conventions prefer them.
    public static readonly string[] PeerKeys = ["peer.service", "server.address", "net.peer.name", "rpc.service"];

    public static SpanKind Kind(long kind) =>
        kind switch
        {
            2 => SpanKind.Server,
            3 => SpanKind.Client,
            4 => SpanKind.Producer,
            5 => SpanKind.Consumer,
            _ => SpanKind.Internal,
        };

    public static SpanKind Kind(JsonElement e) =>
        e.ValueKind switch
        {
            JsonValueKind.Number => Kind(e.GetInt64()),
            JsonValueKind.String => e.GetString() switch
            {
                "SPAN_KIND_SERVER" => SpanKind.Server,
                "SPAN_KIND_CLIENT" => SpanKind.Client,
                "SPAN_KIND_PRODUCER" => SpanKind.Producer,
                "SPAN_KIND_CONSUMER" => SpanKind.Consumer,
                _ => SpanKind.Internal,
            },
            _ => SpanKind.Internal,
        };

    public static string? Peer(Dictionary<string, string> attributes)
    {
        foreach (var key in PeerKeys)
            if (attributes.TryGetValue(key, out var v) && v.Length > 0)
                return v;
        return null;
    }

    /// <summary>
    /// Reads one span attribute (KeyValue) and keeps its value when its key names the callee better than what
    /// was found so far (lower index in <see cref="PeerKeys"/>). Spans carry many attributes and only these
    /// matter, so no dictionary is built per span.
    /// </summary>
    public static void ProtoPeerAttribute(ReadOnlySpan<byte> keyValue, ref string? peer, ref int rank)
    {
        var r = new ProtoReader(keyValue);
        int keyRank = -1;
        ReadOnlySpan<byte> value = default;
        while (r.Next(out int f, out int wt))
        {
            if (f == 1 && wt == ProtoReader.LengthDelimited)
                keyRank = PeerKeyRank(r.ReadBytes());
            else if (f == 2 && wt == ProtoReader.LengthDelimited)
                value = r.ReadBytes();
            else
                r.Skip(wt);
        }
        if (keyRank < 0 || keyRank >= rank)
            return;
        var text = ProtoAnyValue(value);
        if (text.Length == 0)
            return;
        peer = text;
        rank = keyRank;
    }

    private static readonly byte[][] PeerKeysUtf8 = PeerKeys.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();

    private static int PeerKeyRank(ReadOnlySpan<byte> key)
    {
        for (int i = 0; i < PeerKeysUtf8.Length; i++)
            if (key.SequenceEqual(PeerKeysUtf8[i]))
                return i;
        return -1;
    }

    // ── protobuf ──────────────────────────────────────────────────────────────────────────────────────
    /// <summary>Resource { repeated KeyValue attributes = 1 }.</summary>
    public static Dictionary<string, string> ProtoResource(ReadOnlySpan<byte> data)
    {
        var attributes = new Dictionary<string, string>();
        var r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            if (f == 1)
            {
                ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                ProtoKeyValue(r.ReadBytes(), attributes);
            }
            else
                r.Skip(wt);
        }
        return attributes;
    }

    /// <summary>KeyValue { string key = 1; AnyValue value = 2 }; scalar values kept as text.</summary>
    public static void ProtoKeyValue(ReadOnlySpan<byte> data, Dictionary<string, string> into)
    {
        string key = "",
            value = "";
        var r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            if (f == 1)
            {
                ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                key = r.ReadString();
            }
            else if (f == 2)
            {
                ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                value = ProtoAnyValue(r.ReadBytes());
            }
            else
                r.Skip(wt);
        }
        into[key] = value;
    }

    /// <summary>AnyValue { string_value = 1; bool_value = 2; int_value = 3; double_value = 4; … }.</summary>
    public static string ProtoAnyValue(ReadOnlySpan<byte> data)
    {
        var r = new ProtoReader(data);
        string value = "";
        while (r.Next(out int f, out int wt))
        {
            switch (f)
            {
                case 1 when wt == ProtoReader.LengthDelimited:
                    value = r.ReadString();
                    break;
                case 2 when wt == ProtoReader.Varint:
                    value = r.ReadVarint() != 0 ? "true" : "false";
                    break;
                case 3 when wt == ProtoReader.Varint:
                    value = ((long)r.ReadVarint()).ToString(CultureInfo.InvariantCulture);
                    break;
                case 4 when wt == ProtoReader.Fixed64:
                    value = r.ReadDouble().ToString(CultureInfo.InvariantCulture);
                    break;
                default:
                    r.Skip(wt);
                    break; // arrays, kvlists, bytes: not identity, not messages we use
            }
        }
        return value;
    }

    // ── JSON ──────────────────────────────────────────────────────────────────────────────────────────
    public static Dictionary<string, string> JsonAttributes(JsonElement parent, string what)
    {
        var map = new Dictionary<string, string>();
        if (!parent.TryGetProperty("attributes", out var attrs) || attrs.ValueKind == JsonValueKind.Null)
            return map;
        if (attrs.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{what}: \"attributes\" must be an array");
        foreach (var kv in attrs.EnumerateArray())
        {
            if (
                kv.ValueKind != JsonValueKind.Object
                || !kv.TryGetProperty("key", out var k)
                || k.ValueKind != JsonValueKind.String
            )
                throw new InvalidDataException($"{what}: attribute without a \"key\"");
            map[k.GetString()!] = kv.TryGetProperty("value", out var v) ? JsonAnyValue(v) : "";
        }
        return map;
    }

    public static string JsonAnyValue(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Object)
            return "";
        foreach (var p in v.EnumerateObject())
        {
            switch (p.Name)
            {
                case "stringValue":
                    return p.Value.GetString() ?? "";
                case "boolValue":
                    return p.Value.ValueKind == JsonValueKind.True ? "true" : "false";
                case "intValue":
                case "doubleValue":
                    return p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
        }
        return "";
    }

    public static Dictionary<string, string> JsonResource(JsonElement resourceEntry, string what) =>
        resourceEntry.TryGetProperty("resource", out var res) && res.ValueKind == JsonValueKind.Object
            ? JsonAttributes(res, what)
            : [];

    /// <summary>A *UnixNano field: a decimal string (the JSON mapping of fixed64) or, leniently, a number.</summary>
    public static long JsonNanos(JsonElement parent, string property, string what)
    {
        if (!parent.TryGetProperty(property, out var v))
            return 0;
        return v.ValueKind switch
        {
            JsonValueKind.String => Timestamps.FromNanoString(v.GetString()!, what),
            JsonValueKind.Number when v.TryGetInt64(out var n) => Timestamps.FromNanos(n),
            _ => throw new InvalidDataException($"{what}: {property} is not a nanosecond timestamp"),
        };
    }

    public static IEnumerable<JsonElement> JsonArray(JsonElement parent, string property, string what)
    {
        if (!parent.TryGetProperty(property, out var a) || a.ValueKind == JsonValueKind.Null)
            return [];
        if (a.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{what}: \"{property}\" must be an array");
        return a.EnumerateArray();
    }
}

public sealed class OtlpTracesProtoDecoder(DecodeOptions options) : ITelemetryDecoder
{
    public TelemetryFormat Format => TelemetryFormat.OtlpTracesProto;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output) =>
        Otlp.ProtoPayload(payload, output, options, Span);

    private static SpanRecord Span(ReadOnlySpan<byte> data, string cluster, string service)
    {
        string traceId = "",
            spanId = "",
            name = "";
        string? parent = null,
            peer = null;
        int peerRank = int.MaxValue;
        long kind = 0,
            statusCode = 0;
        ulong start = 0,
            end = 0;
        var r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            switch (f)
            {
                case 1:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    traceId = Convert.ToHexStringLower(r.ReadBytes());
                    break;
                case 2:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    spanId = Convert.ToHexStringLower(r.ReadBytes());
                    break;
                case 4:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    var p = r.ReadBytes();
                    parent = p.IsEmpty ? null : Convert.ToHexStringLower(p);
                    break;
                case 5:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    name = r.ReadString();
                    break;
                case 6:
                    ProtoReader.Expect(f, wt, ProtoReader.Varint);
                    kind = (long)r.ReadVarint();
                    break;
                case 7:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    start = r.ReadFixed64();
                    break;
                case 8:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    end = r.ReadFixed64();
                    break;
                case 9:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    Otlp.ProtoPeerAttribute(r.ReadBytes(), ref peer, ref peerRank);
                    break;
                case 15:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    var s = new ProtoReader(r.ReadBytes());
                    while (s.Next(out int sf, out int swt))
                    {
                        if (sf == 3)
                        {
                            ProtoReader.Expect(sf, swt, ProtoReader.Varint);
                            statusCode = (long)s.ReadVarint();
                        }
                        else
                            s.Skip(swt);
                    }
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        if (end < start)
            throw new InvalidDataException($"otlp span {spanId}: ends before it starts");
        var spanKind = Otlp.Kind(kind);
        return new SpanRecord(
            Timestamps.FromNanos((long)start),
            cluster,
            service,
            traceId,
            spanId,
            parent,
            name,
            spanKind,
            spanKind == SpanKind.Client ? peer : null,
            (end - start) / 1e6,
            statusCode == 2
        );
    }
}

public sealed class OtlpTracesJsonDecoder(DecodeOptions options) : ITelemetryDecoder
{
    public TelemetryFormat Format => TelemetryFormat.OtlpTracesJson;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        const string what = "otlp_json traces";
        using var doc = JsonFormat.Parse(payload, what);
        JsonFormat.Guard(
            what,
            () =>
            {
                Otlp.JsonResourceItems(
                    doc.RootElement,
                    "resourceSpans",
                    "scopeSpans",
                    "spans",
                    what,
                    options,
                    (span, cluster, service) =>
                    {
                        long start = Otlp.JsonNanos(span, "startTimeUnixNano", what);
                        string Text(string p) =>
                            span.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String
                                ? v.GetString()!
                                : "";
                        var kind = span.TryGetProperty("kind", out var k) ? Otlp.Kind(k) : SpanKind.Internal;
                        var attributes = Otlp.JsonAttributes(span, what);
                        bool error =
                            span.TryGetProperty("status", out var st)
                            && st.ValueKind == JsonValueKind.Object
                            && st.TryGetProperty("code", out var code)
                            && (
                                code.ValueKind == JsonValueKind.Number
                                    ? code.GetInt32() == 2
                                    : code.GetString() == "STATUS_CODE_ERROR"
                            );
                        var startNs = ParseNs(span, "startTimeUnixNano", what);
                        var endNs = ParseNs(span, "endTimeUnixNano", what);
                        if (endNs < startNs)
                            throw new InvalidDataException($"{what}: span {Text("spanId")} ends before it starts");
                        var parentId = Text("parentSpanId");
                        output.Add(
                            new SpanRecord(
                                start,
                                cluster,
                                service,
                                Text("traceId").ToLowerInvariant(),
                                Text("spanId").ToLowerInvariant(),
                                parentId.Length == 0 ? null : parentId.ToLowerInvariant(),
                                Text("name"),
                                kind,
                                kind == SpanKind.Client ? Otlp.Peer(attributes) : null,
                                (endNs - startNs) / 1e6,
                                error
                            )
                        );
                    }
                );
            }
        );
    }

    private static long ParseNs(JsonElement span, string property, string what)
    {
        if (!span.TryGetProperty(property, out var v))
            throw new InvalidDataException($"{what}: span without {property}");
        if (
            v.ValueKind == JsonValueKind.String
            && long.TryParse(v.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var s)
        )
            return s;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n))
            return n;
        throw new InvalidDataException($"{what}: {property} is not a nanosecond timestamp");
    }
}

public sealed class OtlpLogsProtoDecoder(DecodeOptions options) : ITelemetryDecoder
{
    public TelemetryFormat Format => TelemetryFormat.OtlpLogsProto;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output) =>
        Otlp.ProtoPayload(payload, output, options, Log);

    /// <summary>LogRecord { fixed64 time_unix_nano = 1; SeverityNumber severity_number = 2; string severity_text = 3;
    /// AnyValue body = 5; bytes trace_id = 9; bytes span_id = 10; fixed64 observed_time_unix_nano = 11 }.</summary>
    private static LogRecord Log(ReadOnlySpan<byte> data, string cluster, string service)
    {
        ulong time = 0,
            observed = 0;
        int number = 0;
        string? text = null,
            traceId = null,
            spanId = null;
        string body = "";
        var r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            switch (f)
            {
                case 1:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    time = r.ReadFixed64();
                    break;
                case 11:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    observed = r.ReadFixed64();
                    break;
                case 2:
                    ProtoReader.Expect(f, wt, ProtoReader.Varint);
                    number = (int)r.ReadVarint();
                    break;
                case 3:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    text = r.ReadString();
                    break;
                case 5:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    body = Otlp.ProtoAnyValue(r.ReadBytes());
                    break;
                case 9:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    traceId = Otlp.HexId(r.ReadBytes());
                    break;
                case 10:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    spanId = Otlp.HexId(r.ReadBytes());
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        // time_unix_nano is optional in OTLP; the collector's observed time stands in for it.
        long ts = Timestamps.FromNanos((long)(time != 0 ? time : observed));
        var severity = number == 0 && text is null ? Severity.FromLine(body) : Severity.FromOtel(number, text);
        if (traceId is null)
            (traceId, spanId) = TraceContext.FromText(body, spanId);
        return new LogRecord(ts, cluster, service, severity, body, traceId, spanId);
    }
}

public sealed class OtlpLogsJsonDecoder(DecodeOptions options) : ITelemetryDecoder
{
    public TelemetryFormat Format => TelemetryFormat.OtlpLogsJson;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        const string what = "otlp_json logs";
        using var doc = JsonFormat.Parse(payload, what);
        JsonFormat.Guard(
            what,
            () =>
            {
                Otlp.JsonResourceItems(
                    doc.RootElement,
                    "resourceLogs",
                    "scopeLogs",
                    "logRecords",
                    what,
                    options,
                    (log, cluster, service) =>
                    {
                        long ts = Otlp.JsonNanos(log, "timeUnixNano", what);
                        if (ts == 0)
                            ts = Otlp.JsonNanos(log, "observedTimeUnixNano", what);
                        var body = log.TryGetProperty("body", out var b) ? Otlp.JsonAnyValue(b) : "";
                        int number =
                            log.TryGetProperty("severityNumber", out var n) && n.ValueKind == JsonValueKind.Number
                                ? n.GetInt32()
                                : 0;
                        string? text =
                            log.TryGetProperty("severityText", out var t) && t.ValueKind == JsonValueKind.String
                                ? t.GetString()
                                : null;
                        var severity =
                            number == 0 && text is null ? Severity.FromLine(body) : Severity.FromOtel(number, text);
                        // OTLP/JSON writes trace_id and span_id as hex strings (not base64, unlike proto3's JSON
                        // mapping).
                        string? traceId =
                            log.TryGetProperty("traceId", out var tid)
                            && tid.ValueKind == JsonValueKind.String
                            && tid.GetString() is { Length: > 0 } th
                                ? th.ToLowerInvariant()
                                : null;
                        string? spanId =
                            log.TryGetProperty("spanId", out var sid)
                            && sid.ValueKind == JsonValueKind.String
                            && sid.GetString() is { Length: > 0 } sh
                                ? sh.ToLowerInvariant()
                                : null;
                        if (traceId is null)
                            (traceId, spanId) = TraceContext.FromText(body, spanId);
                        output.Add(new LogRecord(ts, cluster, service, severity, body, traceId, spanId));
                    }
                );
            }
        );
    }
}
