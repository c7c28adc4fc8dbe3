using System.Globalization;
using System.Text.Json;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Formats;

/// <summary>
/// Prometheus remote-write 1.0: WriteRequest { repeated TimeSeries timeseries = 1 }, TimeSeries
/// { repeated Label labels = 1; repeated Sample samples = 2 }, Label { string name = 1; string value = 2 },
/// Sample { double value = 1; int64 timestamp = 2 (ms) }, snappy block compressed. One
/// <see cref="MetricSample"/> per sample; counters stay running totals (the window turns them into rates
/// from its first and last sample) and histogram buckets keep their le label.
/// </summary>
public sealed class RemoteWriteDecoder(DecodeOptions options) : ITelemetryDecoder
{
    public TelemetryFormat Format => TelemetryFormat.RemoteWrite;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        using var raw = SnappyBlock.Decompress(payload);
        var r = new ProtoReader(raw.Memory.Span);
        while (r.Next(out int field, out int wt))
        {
            if (field == 1)
            {
                ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                Series(r.ReadBytes(), output);
            }
            else
                r.Skip(wt); // metadata = 3
        }
    }

    private void Series(ReadOnlySpan<byte> data, List<TelemetryRecord> output)
    {
        var labels = new Dictionary<string, string>();
        var r = new ProtoReader(data);
        var samples = new List<(double Value, long Ts)>(1);
        while (r.Next(out int field, out int wt))
        {
            if (field == 1)
            {
                ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                var l = new ProtoReader(r.ReadBytes());
                string name = "",
                    value = "";
                while (l.Next(out int lf, out int lwt))
                {
                    if (lf == 1)
                    {
                        ProtoReader.Expect(lf, lwt, ProtoReader.LengthDelimited);
                        name = l.ReadString();
                    }
                    else if (lf == 2)
                    {
                        ProtoReader.Expect(lf, lwt, ProtoReader.LengthDelimited);
                        value = l.ReadString();
                    }
                    else
                        l.Skip(lwt);
                }
                labels[name] = value;
            }
            else if (field == 2)
            {
                ProtoReader.Expect(field, wt, ProtoReader.LengthDelimited);
                var s = new ProtoReader(r.ReadBytes());
                double v = 0;
                long ts = 0;
                while (s.Next(out int sf, out int swt))
                {
                    if (sf == 1)
                    {
                        ProtoReader.Expect(sf, swt, ProtoReader.Fixed64);
                        v = s.ReadDouble();
                    }
                    else if (sf == 2)
                    {
                        ProtoReader.Expect(sf, swt, ProtoReader.Varint);
                        ts = (long)s.ReadVarint();
                    }
                    else
                        s.Skip(swt);
                }
                samples.Add((v, ts));
            }
            else
                r.Skip(wt);
        }
        if (!labels.Remove("__name__", out var metric) || metric.Length == 0)
            throw new InvalidDataException("remote write: time series without __name__");
        string cluster = options.ClusterOf(labels),
            service = options.ServiceOfMetric(labels);
        IReadOnlyDictionary<string, string>? extra = labels.Count == 0 ? null : labels;
        foreach (var (v, ts) in samples)
        {
            // Prometheus marks a series gone with a special NaN (staleness marker); it carries no value.
            if (BitConverter.DoubleToUInt64Bits(v) == StaleNaN)
                continue;
            output.Add(new MetricSample(ts, cluster, service, metric, v, extra));
        }
    }

    /// <summary>value.StaleNaN in Prometheus.</summary>
    public const ulong StaleNaN = 0x7ff0000000000002;
}

/// <summary>
/// prometheus-kafka-adapter's JSON serialisation of one remote-write sample:
/// {"timestamp":"2026-01-01T00:00:00Z","value":"0.25","name":"up","labels":{"__name__":"up",…}}.
/// </summary>
internal sealed class PromKafkaAdapterDecoder(DecodeOptions options) : ITelemetryDecoder
{
    public TelemetryFormat Format => TelemetryFormat.PromKafkaAdapter;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        using var doc = JsonFormat.Parse(payload, "prometheus-kafka-adapter");
        JsonFormat.Guard(
            "prometheus-kafka-adapter",
            () =>
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException("prometheus-kafka-adapter: the message is not a JSON object");
                var labels = JsonFormat.StringMap(root, "labels", "prometheus-kafka-adapter");
                labels.Remove("__name__", out var labelName);
                string name =
                    root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
                        ? n.GetString()!
                        : labelName ?? "";
                if (name.Length == 0)
                    throw new InvalidDataException("prometheus-kafka-adapter: no metric name");
                if (!root.TryGetProperty("timestamp", out var t) || t.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException("prometheus-kafka-adapter: no \"timestamp\" string");
                long ts = Timestamps.FromText(t.GetString()!, "prometheus-kafka-adapter");
                if (!root.TryGetProperty("value", out var v))
                    throw new InvalidDataException("prometheus-kafka-adapter: no \"value\"");
                double value = v.ValueKind switch
                {
                    JsonValueKind.String
                        when double.TryParse(
                            v.GetString(),
                            NumberStyles.Float,
                            CultureInfo.InvariantCulture,
                            out var d
                        ) => d,
                    JsonValueKind.Number => v.GetDouble(),
                    _ => throw new InvalidDataException(
                        $"prometheus-kafka-adapter: value {v.GetRawText()} is not a number"
                    ),
                };
                output.Add(
                    new MetricSample(
                        ts,
                        options.ClusterOf(labels),
                        options.ServiceOfMetric(labels),
                        name,
                        value,
                        labels.Count == 0 ? null : labels
                    )
                );
            }
        );
    }
}
