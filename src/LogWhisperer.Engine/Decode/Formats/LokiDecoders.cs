using System.Text.Json;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Formats;

/// <summary>Loki push API, JSON: {"streams":[{"stream":{labels},"values":[["&lt;unix ns&gt;","&lt;line&gt;"(,
/// {structured metadata})]]}]}.</summary>
public sealed class LokiJsonDecoder(DecodeOptions options) : ITelemetryDecoder
{
    public TelemetryFormat Format => TelemetryFormat.LokiJson;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        using var doc = JsonFormat.Parse(payload, "loki push");
        JsonFormat.Guard(
            "loki push",
            () =>
            {
                if (
                    doc.RootElement.ValueKind != JsonValueKind.Object
                    || !doc.RootElement.TryGetProperty("streams", out var streams)
                    || streams.ValueKind != JsonValueKind.Array
                )
                    throw new InvalidDataException("loki push: no \"streams\" array");
                DecodeStreams(streams, output);
            }
        );
    }

    /// <summary>
    /// An array of {"stream":{labels},"values":[[ns, line]…]}: the push body's "streams", and equally the
    /// "result" of a query_range answer or a tail message, which use the same shape.
    /// </summary>
    public void DecodeStreams(JsonElement streams, List<TelemetryRecord> output)
    {
        foreach (var stream in streams.EnumerateArray())
        {
            var labels = JsonFormat.StringMap(stream, "stream", "loki push");
            string cluster = options.ClusterOf(labels),
                service = options.ServiceOf(labels);
            var levelLabel = Severity.FromLevel(
                labels.GetValueOrDefault("level") ?? labels.GetValueOrDefault("detected_level")
            );
            if (!stream.TryGetProperty("values", out var values) || values.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException("loki push: stream without a \"values\" array");
            foreach (var entry in values.EnumerateArray())
            {
                if (
                    entry.ValueKind != JsonValueKind.Array
                    || entry.GetArrayLength() < 2
                    || entry[0].ValueKind != JsonValueKind.String
                    || entry[1].ValueKind != JsonValueKind.String
                )
                    throw new InvalidDataException("loki push: a value must be [\"<unix ns>\", \"<line>\"]");
                long ts = Timestamps.FromNanoString(entry[0].GetString()!, "loki push");
                var line = entry[1].GetString()!;
                // Loki 3 carries trace ids as structured metadata, the entry's optional third element.
                var (traceId, spanId) =
                    entry.GetArrayLength() > 2 && entry[2].ValueKind == JsonValueKind.Object
                        ? TraceContext.From(JsonFormat.StringMembers(entry[2]), line)
                        : TraceContext.From(labels, line);
                output.Add(
                    new LogRecord(ts, cluster, service, levelLabel ?? Severity.FromLine(line), line, traceId, spanId)
                );
            }
        }
    }
}

/// <summary>
/// Loki push API, protobuf: logproto.PushRequest { repeated StreamAdapter streams = 1 }, StreamAdapter
/// { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3 }, EntryAdapter
/// { google.protobuf.Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3 },
/// snappy block compressed (Content-Type application/x-protobuf), as promtail, Alloy and the Loki clients send it.
/// </summary>
public sealed class LokiProtoDecoder(DecodeOptions options) : ITelemetryDecoder
{
    public TelemetryFormat Format => TelemetryFormat.LokiProto;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        using var raw = SnappyBlock.Decompress(payload);
        var r = new ProtoReader(raw.Memory.Span);
        while (r.Next(out int field, out int wt))
        {
            if (field == 1)
            {
                ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                Stream(r.ReadBytes(), output);
            }
            else
                r.Skip(wt);
        }
    }

    private void Stream(ReadOnlySpan<byte> data, List<TelemetryRecord> output)
    {
        // Labels come first on the wire, but protobuf allows any order: collect entries, then label them.
        string? labelText = null;
        var entries = new List<(long Ts, string Line, TraceContext.PairScan Metadata)>();
        var r = new ProtoReader(data);
        while (r.Next(out int field, out int wt))
        {
            switch (field)
            {
                case 1:
                    ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                    labelText = r.ReadString();
                    break;
                case 2:
                    ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                    entries.Add(Entry(r.ReadBytes()));
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        if (labelText is null)
            throw new InvalidDataException("loki push: stream without labels");
        var labels = LabelSet.Parse(labelText);
        string cluster = options.ClusterOf(labels),
            service = options.ServiceOf(labels);
        var levelLabel = Severity.FromLevel(
            labels.GetValueOrDefault("level") ?? labels.GetValueOrDefault("detected_level")
        );
        foreach (var (ts, line, metadata) in entries)
        {
            // Structured metadata, where the entry has any, else the stream's labels; then the line's text.
            var (traceId, spanId) =
                !metadata.Any ? TraceContext.From(labels, line)
                : metadata.Trace is null ? TraceContext.FromText(line, metadata.Span)
                : (metadata.Trace, metadata.Span);
            output.Add(
                new LogRecord(ts, cluster, service, levelLabel ?? Severity.FromLine(line), line, traceId, spanId)
            );
        }
    }

    private static (long, string, TraceContext.PairScan) Entry(ReadOnlySpan<byte> data)
    {
        long seconds = 0,
            nanos = 0;
        string line = "";
        var metadata = new TraceContext.PairScan();
        bool hasTs = false;
        var r = new ProtoReader(data);
        while (r.Next(out int field, out int wt))
        {
            switch (field)
            {
                case 1:
                    ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                    hasTs = true;
                    var t = new ProtoReader(r.ReadBytes());
                    while (t.Next(out int tf, out int twt))
                    {
                        if (tf == 1)
                        {
                            ProtoReader.Expect(tf, twt, ProtoReader.Varint);
                            seconds = (long)t.ReadVarint();
                        }
                        else if (tf == 2)
                        {
                            ProtoReader.Expect(tf, twt, ProtoReader.Varint);
                            nanos = (long)t.ReadVarint();
                        }
                        else
                            t.Skip(twt);
                    }
                    break;
                case 2:
                    ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                    line = r.ReadString();
                    break;
                case 3:
                    ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                    AddPair(r.ReadBytes(), ref metadata);
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        if (!hasTs)
            throw new InvalidDataException("loki push: entry without a timestamp");
        return (seconds * 1000 + nanos / 1_000_000, line, metadata);
    }

    /// <summary>LabelPairAdapter { string name = 1; string value = 2 } (structured metadata).</summary>
    private static void AddPair(ReadOnlySpan<byte> data, ref TraceContext.PairScan into)
    {
        ReadOnlySpan<byte> name = default,
            value = default;
        var r = new ProtoReader(data);
        while (r.Next(out int field, out int wt))
        {
            if (field is 1 or 2)
            {
                ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                if (field == 1)
                    name = r.ReadBytes();
                else
                    value = r.ReadBytes();
            }
            else
                r.Skip(wt);
        }
        into.Add(name, value);
    }
}
