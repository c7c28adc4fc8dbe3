using System.Globalization;
using System.Text.Json;
using LogWhisperer.Features.Metrics;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Formats;

/// <summary>
/// Turns OTLP metric data points into the samples Prometheus would expose for them, so the engine reads
/// them like scraped metrics: a gauge or sum point is one sample named after the metric; an explicit-bucket
/// histogram point is <c>name_bucket</c> samples with cumulative counts by <c>le</c> (+Inf = count), then
/// <c>name_count</c> and <c>name_sum</c>. Delta points (what SDKs with delta temporality and the Collector's
/// cumulativetodelta processor send) are summed into running totals per series, as the Collector's
/// deltatocumulative processor would do, because the engine turns cumulative counters into rates and bucket
/// increases. The service is the data point's Istio identity when it has one (reporter / *_workload
/// attributes), otherwise the resource's service.name.
/// </summary>
internal sealed class OtlpMetricPoints(DecodeOptions options)
{
    private readonly Dictionary<string, (double Total, long LastMs)> _deltaTotals = new(StringComparer.Ordinal);
    private readonly Lock _deltaLock = new();
    private long _sweptAtMs; // event time of the last sweep for forgotten series

    /// <summary>A delta series with no point for this long is forgotten (its running total restarts from 0 if it
    /// comes back, which the engine reads as a counter reset): the totals follow the series that exist now.</summary>
    public const long ForgetSeriesAfterMs = 3_600_000;

    public const int TemporalityDelta = 1;

    public void Number(
        Dictionary<string, string> resource,
        string metric,
        Dictionary<string, string> attributes,
        long timeMs,
        double value,
        bool delta,
        List<TelemetryRecord> output
    )
    {
        var (cluster, service) = Identity(resource, attributes);
        if (delta)
            value = Accumulate(cluster, service, metric, attributes, "", value, timeMs);
        output.Add(
            new MetricSample(timeMs, cluster, service, metric, value, attributes.Count == 0 ? null : attributes)
        );
    }

    /// <param name="counts">Per-bucket (not cumulative) counts: one more than <paramref name="bounds"/>, the last above
    /// the highest bound.</param>
    public void Histogram(
        Dictionary<string, string> resource,
        string metric,
        Dictionary<string, string> attributes,
        long timeMs,
        IReadOnlyList<double> bounds,
        IReadOnlyList<ulong> counts,
        double? sum,
        bool delta,
        List<TelemetryRecord> output
    )
    {
        if (counts.Count == 0)
            return; // a point with no buckets carries only count/sum: nothing to interpolate
        if (counts.Count != bounds.Count + 1)
            throw new InvalidDataException(
                $"otlp metric {metric}: "
                    + $"{counts.Count} bucket counts for {bounds.Count} explicit bounds (must be one more)"
            );
        for (int i = 1; i < bounds.Count; i++)
            if (!(bounds[i] > bounds[i - 1]))
                throw new InvalidDataException($"otlp metric {metric}: explicit bounds are not increasing");
        var (cluster, service) = Identity(resource, attributes);
        double cumulative = 0;
        for (int i = 0; i < counts.Count; i++)
        {
            cumulative += counts[i];
            string le = i < bounds.Count ? bounds[i].ToString(CultureInfo.InvariantCulture) : "+Inf";
            double value = delta
                ? Accumulate(cluster, service, metric, attributes, le, cumulative, timeMs)
                : cumulative;
            output.Add(
                new MetricSample(
                    timeMs,
                    cluster,
                    service,
                    metric + "_bucket",
                    value,
                    new Dictionary<string, string>(attributes) { ["le"] = le }
                )
            );
        }
        IReadOnlyDictionary<string, string>? labels = attributes.Count == 0 ? null : attributes;
        double count = delta
            ? Accumulate(cluster, service, metric, attributes, "count", cumulative, timeMs)
            : cumulative;
        output.Add(new MetricSample(timeMs, cluster, service, metric + "_count", count, labels));
        if (sum is { } s)
            output.Add(
                new MetricSample(
                    timeMs,
                    cluster,
                    service,
                    metric + "_sum",
                    delta ? Accumulate(cluster, service, metric, attributes, "sum", s, timeMs) : s,
                    labels
                )
            );
    }

    private (string Cluster, string Service) Identity(
        Dictionary<string, string> resource,
        Dictionary<string, string> attributes
    )
    {
        string service = attributes.ContainsKey("reporter") ? options.ServiceOfMetric(attributes) : "";
        if (service.Length == 0)
            service = options.ServiceOf(resource);
        var clusterLabels = options.ClusterLabels;
        bool pointNamesCluster = false;
        foreach (var key in clusterLabels)
            if (attributes.ContainsKey(key))
            {
                pointNamesCluster = true;
                break;
            }
        return (options.ClusterOf(pointNamesCluster ? attributes : resource), service);
    }

    private double Accumulate(
        string cluster,
        string service,
        string metric,
        Dictionary<string, string> attributes,
        string part,
        double delta,
        long timeMs
    )
    {
        string key = cluster + "\n" + metric + "\n" + part + "\n" + SeriesKey.Of(service, attributes);
        lock (_deltaLock)
        {
            if (timeMs - _sweptAtMs > ForgetSeriesAfterMs / 6)
            {
                foreach (var (k, v) in _deltaTotals)
                    if (v.LastMs < timeMs - ForgetSeriesAfterMs)
                        _deltaTotals.Remove(k);
                _sweptAtMs = timeMs;
            }
            var (total, lastMs) = _deltaTotals.GetValueOrDefault(key);
            total += delta;
            _deltaTotals[key] = (total, Math.Max(lastMs, timeMs));
            return total;
        }
    }
}

/// <summary>
/// OTLP metrics in the Collector Kafka exporter's otlp_proto encoding (MetricsData, the wire format of
/// ExportMetricsServiceRequest): ResourceMetrics { Resource resource = 1; repeated ScopeMetrics = 2 },
/// ScopeMetrics { repeated Metric metrics = 2 }, Metric { name = 1; Gauge gauge = 5; Sum sum = 7;
/// Histogram histogram = 9; ExponentialHistogram = 10 and Summary = 11 are not read }.
/// </summary>
public sealed class OtlpMetricsProtoDecoder(DecodeOptions options) : ITelemetryDecoder
{
    private readonly OtlpMetricPoints _points = new(options);

    public TelemetryFormat Format => TelemetryFormat.OtlpMetricsProto;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        var r = new ProtoReader(payload);
        while (r.Next(out int f, out int wt))
        {
            if (f == 1)
            {
                ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                ResourceMetrics(r.ReadBytes(), output);
            }
            else
                r.Skip(wt);
        }
    }

    private void ResourceMetrics(ReadOnlySpan<byte> data, List<TelemetryRecord> output)
    {
        // The resource may follow its metrics on the wire: find it first.
        Dictionary<string, string> resource = [];
        var r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            if (f == 1)
            {
                ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                resource = Otlp.ProtoResource(r.ReadBytes());
            }
            else
                r.Skip(wt);
        }
        r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            if (f != 2)
            {
                r.Skip(wt);
                continue;
            }
            ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
            var scope = new ProtoReader(r.ReadBytes());
            while (scope.Next(out int sf, out int swt))
            {
                if (sf == 2)
                {
                    ProtoReader.Expect(sf, swt, ProtoReader.LengthDelimited);
                    Metric(resource, scope.ReadBytes(), output);
                }
                else
                    scope.Skip(swt);
            }
        }
    }

    private void Metric(Dictionary<string, string> resource, ReadOnlySpan<byte> data, List<TelemetryRecord> output)
    {
        string name = "";
        var r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            if (f == 1)
            {
                ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                name = r.ReadString();
            }
            else
                r.Skip(wt);
        }
        if (name.Length == 0)
            throw new InvalidDataException("otlp metric without a name");
        r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            if (f is not (5 or 7 or 9))
            {
                r.Skip(wt);
                continue;
            }
            ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
            var body = r.ReadBytes();
            bool delta = Temporality(body) == OtlpMetricPoints.TemporalityDelta;
            var points = new ProtoReader(body);
            while (points.Next(out int pf, out int pwt))
            {
                if (pf != 1)
                {
                    points.Skip(pwt);
                    continue;
                }
                ProtoReader.Expect(pf, pwt, ProtoReader.LengthDelimited);
                if (f == 9)
                    HistogramPoint(resource, name, points.ReadBytes(), delta, output);
                else
                    NumberPoint(resource, name, points.ReadBytes(), delta && f == 7, output);
            }
        }
    }

    /// <summary>Sum / Histogram { AggregationTemporality aggregation_temporality = 2 } (Gauge has none: 0).</summary>
    private static int Temporality(ReadOnlySpan<byte> body)
    {
        int temporality = 0;
        var r = new ProtoReader(body);
        while (r.Next(out int f, out int wt))
        {
            if (f == 2 && wt == ProtoReader.Varint)
                temporality = (int)r.ReadVarint();
            else
                r.Skip(wt);
        }
        return temporality;
    }

    /// <summary>NumberDataPoint { attributes = 7; time_unix_nano = 3; as_double = 4; sfixed64 as_int = 6 }.</summary>
    private void NumberPoint(
        Dictionary<string, string> resource,
        string name,
        ReadOnlySpan<byte> data,
        bool delta,
        List<TelemetryRecord> output
    )
    {
        var attributes = new Dictionary<string, string>();
        ulong time = 0;
        double? value = null;
        var r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            switch (f)
            {
                case 7:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    Otlp.ProtoKeyValue(r.ReadBytes(), attributes);
                    break;
                case 3:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    time = r.ReadFixed64();
                    break;
                case 4:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    value = r.ReadDouble();
                    break;
                case 6:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    value = (long)r.ReadFixed64();
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        if (value is null)
            throw new InvalidDataException($"otlp metric {name}: data point without a value");
        _points.Number(resource, name, attributes, Timestamps.FromNanos((long)time), value.Value, delta, output);
    }

    /// <summary>HistogramDataPoint { attributes = 9; time_unix_nano = 3; double sum = 5; repeated fixed64 bucket_counts
    /// = 6; repeated double explicit_bounds = 7 } (repeated fields packed, or one per tag as older writers
    /// do).</summary>
    private void HistogramPoint(
        Dictionary<string, string> resource,
        string name,
        ReadOnlySpan<byte> data,
        bool delta,
        List<TelemetryRecord> output
    )
    {
        var attributes = new Dictionary<string, string>();
        ulong time = 0;
        double? sum = null;
        var counts = new List<ulong>(16);
        var bounds = new List<double>(16);
        var r = new ProtoReader(data);
        while (r.Next(out int f, out int wt))
        {
            switch (f)
            {
                case 9:
                    ProtoReader.Expect(f, wt, ProtoReader.LengthDelimited);
                    Otlp.ProtoKeyValue(r.ReadBytes(), attributes);
                    break;
                case 3:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    time = r.ReadFixed64();
                    break;
                case 5:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    sum = r.ReadDouble();
                    break;
                case 6 or 7 when wt == ProtoReader.LengthDelimited:
                    var packed = r.ReadBytes();
                    if (packed.Length % 8 != 0)
                        throw new InvalidDataException(
                            $"otlp metric {name}: packed field {f} is not a whole number of 8-byte values"
                        );
                    for (int i = 0; i < packed.Length; i += 8)
                    {
                        ulong bits = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(packed[i..]);
                        if (f == 6)
                            counts.Add(bits);
                        else
                            bounds.Add(BitConverter.UInt64BitsToDouble(bits));
                    }
                    break;
                case 6:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    counts.Add(r.ReadFixed64());
                    break;
                case 7:
                    ProtoReader.Expect(f, wt, ProtoReader.Fixed64);
                    bounds.Add(r.ReadDouble());
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        _points.Histogram(
            resource,
            name,
            attributes,
            Timestamps.FromNanos((long)time),
            bounds,
            counts,
            sum,
            delta,
            output
        );
    }
}

/// <summary>OTLP metrics in the otlp_json encoding (the protobuf-JSON mapping of MetricsData).</summary>
public sealed class OtlpMetricsJsonDecoder(DecodeOptions options) : ITelemetryDecoder
{
    private const string What = "otlp_json metrics";
    private readonly OtlpMetricPoints _points = new(options);

    public TelemetryFormat Format => TelemetryFormat.OtlpMetricsJson;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        using var doc = JsonFormat.Parse(payload, What);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{What}: not a JSON object");
        foreach (var rm in Otlp.JsonArray(root, "resourceMetrics", What))
        {
            var resource = Otlp.JsonResource(rm, What);
            foreach (var scope in Otlp.JsonArray(rm, "scopeMetrics", What))
            foreach (var metric in Otlp.JsonArray(scope, "metrics", What))
                Metric(resource, metric, output);
        }
    }

    private void Metric(Dictionary<string, string> resource, JsonElement metric, List<TelemetryRecord> output)
    {
        string name =
            metric.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
        if (name.Length == 0)
            throw new InvalidDataException($"{What}: metric without a name");
        foreach (var (kind, isSum) in new[] { ("gauge", false), ("sum", true) })
        {
            if (!metric.TryGetProperty(kind, out var body))
                continue;
            bool delta = isSum && IsDelta(body);
            foreach (var p in Otlp.JsonArray(body, "dataPoints", What))
                _points.Number(
                    resource,
                    name,
                    Otlp.JsonAttributes(p, What),
                    Otlp.JsonNanos(p, "timeUnixNano", What),
                    NumberValue(p, name),
                    delta,
                    output
                );
        }
        if (metric.TryGetProperty("histogram", out var histogram))
        {
            bool delta = IsDelta(histogram);
            foreach (var p in Otlp.JsonArray(histogram, "dataPoints", What))
            {
                var counts = Otlp.JsonArray(p, "bucketCounts", What)
                    .Select(c => (ulong)Number(c, $"{name} bucketCounts"))
                    .ToList();
                var bounds = Otlp.JsonArray(p, "explicitBounds", What)
                    .Select(b => Number(b, $"{name} explicitBounds"))
                    .ToList();
                double? sum = p.TryGetProperty("sum", out var s) ? Number(s, $"{name} sum") : null;
                _points.Histogram(
                    resource,
                    name,
                    Otlp.JsonAttributes(p, What),
                    Otlp.JsonNanos(p, "timeUnixNano", What),
                    bounds,
                    counts,
                    sum,
                    delta,
                    output
                );
            }
        }
    }

    /// <summary>aggregationTemporality: 1 / "AGGREGATION_TEMPORALITY_DELTA" is delta.</summary>
    private static bool IsDelta(JsonElement body) =>
        body.TryGetProperty("aggregationTemporality", out var t)
        && (
            t.ValueKind == JsonValueKind.Number
                ? t.GetInt32() == OtlpMetricPoints.TemporalityDelta
                : t.GetString() == "AGGREGATION_TEMPORALITY_DELTA"
        );

    private static double NumberValue(JsonElement point, string name)
    {
        if (point.TryGetProperty("asDouble", out var d))
            return Number(d, $"{name} asDouble");
        if (point.TryGetProperty("asInt", out var i))
            return Number(i, $"{name} asInt");
        throw new InvalidDataException($"{What}: metric {name}: data point without asDouble or asInt");
    }

    /// <summary>A number, or a string holding one (the JSON mapping writes 64-bit integers and NaN/Infinity as
    /// strings).</summary>
    private static double Number(JsonElement e, string what) =>
        e.ValueKind switch
        {
            JsonValueKind.Number => e.GetDouble(),
            JsonValueKind.String
                when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
            JsonValueKind.String when e.GetString() is "NaN" or "Infinity" or "-Infinity" => double.Parse(
                e.GetString()!,
                CultureInfo.InvariantCulture
            ),
            _ => throw new InvalidDataException($"{What}: {what}: {e.GetRawText()} is not a number"),
        };
}
