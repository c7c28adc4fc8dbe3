using System.IO.Compression;
using System.Text;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Export;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Fuzzing;

/// <summary>
/// Valid payloads for every decoder, as the real tools write them (built with <see cref="TelemetryEncoder"/>
/// and the exporters where the engine has an encoder, by hand from the schema otherwise), including the
/// well-formed but hostile ones: thousands of labels, very long lines, NaN and infinite values, invalid
/// UTF-8 inside protobuf strings, timestamps from the wrong era.
/// </summary>
public static class FuzzSeeds
{
    private const long T0 = 1_767_225_600_123;

    /// <summary>Every decoder the engine has, plus the gateway's body handling (gzip in front of Loki JSON).</summary>
    public static IReadOnlyList<FuzzTarget> Targets(DecodeOptions? options = null, long maxBodyBytes = 1 << 20)
    {
        options ??= new DecodeOptions();
        FuzzTarget For(TelemetryFormat format, IReadOnlyList<byte[]> seeds, Func<byte[], byte[]>? wrap = null)
        {
            var decoder = TelemetryDecoders.For(format, options);
            return new FuzzTarget(format.ToString(), seeds, wrap, (payload, output) => decoder.Decode(payload, output));
        }
        var lokiJson = TelemetryDecoders.For(TelemetryFormat.LokiJson, options);
        var otlpProto = TelemetryDecoders.For(TelemetryFormat.OtlpTracesProto, options);
        return
        [
            For(TelemetryFormat.LokiJson, LokiJson()),
            For(TelemetryFormat.LokiProto, LokiProtoInner(), Snappy),
            For(TelemetryFormat.JsonLogLine, JsonLines()),
            For(TelemetryFormat.RemoteWrite, RemoteWriteInner(), Snappy),
            For(TelemetryFormat.PromKafkaAdapter, PromKafkaAdapter()),
            For(TelemetryFormat.OtlpTracesProto, OtlpTracesProto()),
            For(TelemetryFormat.OtlpTracesJson, OtlpTracesJson()),
            For(TelemetryFormat.OtlpLogsProto, OtlpLogsProto()),
            For(TelemetryFormat.OtlpLogsJson, OtlpLogsJson()),
            // The gateway's request parsing: Content-Encoding undone with a size cap, then the format's decoder.
            new FuzzTarget(
                "GatewayGzipLokiJson",
                LokiJson(),
                Gzip,
                (body, output) => lokiJson.Decode(BodyDecoding.Decode(body, "gzip", maxBodyBytes), output)
            ),
            new FuzzTarget(
                "GatewaySnappyOtlp",
                OtlpTracesProto(),
                Snappy,
                (body, output) => otlpProto.Decode(BodyDecoding.Decode(body, "snappy", maxBodyBytes), output)
            ),
        ];
    }

    public static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal))
            gzip.Write(data);
        return buffer.ToArray();
    }

    private static byte[] Snappy(byte[] data) => SnappyBlock.Compress(data);

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static List<LogRecord> Logs() =>
        [
            new(T0, "prod", "cart", LogSeverity.Info, "GET /cart 200 in 4ms"),
            new(T0 + 10, "prod", "cart", LogSeverity.Error, "ERROR redis timeout after 500ms password=hunter2"),
            new(T0 + 20, "prod", "frontend", LogSeverity.Warn, "slow upstream \"quoted\" \u00e9\u4e2d"),
        ];

    private static List<SpanRecord> Spans() =>
        [
            new(
                T0,
                "prod",
                "frontend",
                "5b8efff798038103d269b633813fc60c",
                "eee19b7ec3c1b174",
                null,
                "GET /cart",
                SpanKind.Server,
                null,
                12.5,
                false
            ),
            new(
                T0 + 1,
                "prod",
                "frontend",
                "5b8efff798038103d269b633813fc60c",
                "eee19b7ec3c1b175",
                "eee19b7ec3c1b174",
                "CartService/GetCart",
                SpanKind.Client,
                "cart",
                10,
                true
            ),
        ];

    private static List<MetricSample> Metrics() =>
        [
            new(
                T0,
                "prod",
                "cart",
                "container_cpu_usage_seconds_total",
                12.5,
                new Dictionary<string, string> { ["container"] = "cart" }
            ),
            new(
                T0,
                "prod",
                "cart",
                "istio_requests_total",
                3,
                new Dictionary<string, string>
                {
                    ["reporter"] = "destination",
                    ["destination_workload"] = "cart",
                    ["response_code"] = "500",
                }
            ),
            new(T0, "prod", "cart", "container_memory_working_set_bytes", double.NaN),
            new(T0, "prod", "cart", "up", double.PositiveInfinity),
        ];

    private static Dictionary<string, string> HugeLabels(int count) =>
        Enumerable.Range(0, count).ToDictionary(i => "label_" + i, i => "value_" + i);

    private static IReadOnlyList<byte[]> LokiJson() =>
        [
            LokiPushEncoder.Encode([.. Logs()], "shop")!,
            Utf8(
                """{"streams":[{"stream":{"app":"cart","cluster":"prod"},"values":[["1767225600123000000","line",{"trace_id":"abc"}]]}]}"""
            ),
            Utf8(
                "{\"streams\":[{\"stream\":{"
                    + string.Join(",", HugeLabels(300).Select(l => $"\"{l.Key}\":\"{l.Value}\""))
                    + "},\"values\":[[\"1767225600123000000\",\""
                    + new string('x', 4096)
                    + "\"]]}]}"
            ),
        ];

    private static IReadOnlyList<byte[]> LokiProtoInner()
    {
        var huge = new ProtoWriter();
        huge.Message(
            1,
            s =>
            {
                s.String(1, LabelSet.Format(HugeLabels(300)));
                s.Message(
                    2,
                    e =>
                    {
                        e.Message(1, t => t.Varint(1, (ulong)(T0 / 1000)));
                        e.String(2, new string('y', 4096));
                    }
                );
            }
        );
        var badUtf8 = new ProtoWriter();
        badUtf8.Message(
            1,
            s =>
            {
                s.Bytes(1, [.. Utf8("{app=\""), 0xC3, 0x28, 0xFF, .. Utf8("\"}")]);
                s.Message(
                    2,
                    e =>
                    {
                        e.Message(
                            1,
                            t =>
                            {
                                t.Varint(1, ulong.MaxValue);
                                t.Varint(2, ulong.MaxValue);
                            }
                        );
                        e.Bytes(2, [0xED, 0xA0, 0x80, 0xFE]);
                    }
                );
            }
        );
        return [Inner(TelemetryEncoder.LokiPush(Logs())), huge.ToArray(), badUtf8.ToArray()];
    }

    private static byte[] Inner(byte[] snappy)
    {
        using var raw = SnappyBlock.Decompress(snappy);
        return raw.Memory.ToArray();
    }

    private static IReadOnlyList<byte[]> JsonLines() =>
        [
            Utf8(
                """{"@timestamp":1767225600.123,"log":"connection refused","stream":"stderr","level":"error","kubernetes":{"pod_name":"cart-5f","namespace_name":"shop","container_name":"server","labels":{"app":"cartservice"}}}"""
            ),
            Utf8(
                """{"timestamp":"2026-01-01T00:00:00.123Z","message":"GET / 200","kubernetes":{"container_name":"server","pod_namespace":"shop","pod_labels":{"app.kubernetes.io/name":"frontend"}}}"""
            ),
            Utf8(
                """{"@timestamp":"2026-01-01T00:00:00.123+00:00","host":"node-1","programname":"payment","severity":"warning","msg":"retrying charge"}"""
            ),
            Utf8(
                "{\"time\":1e308,\"msg\":\""
                    + new string('z', 4096)
                    + "\","
                    + string.Join(",", HugeLabels(300).Select(l => $"\"{l.Key}\":\"{l.Value}\""))
                    + "}"
            ),
        ];

    private static IReadOnlyList<byte[]> RemoteWriteInner()
    {
        var huge = new MetricSample(T0, "prod", "cart", "up", 1, HugeLabels(300));
        return [Inner(TelemetryEncoder.RemoteWrite(Metrics())), Inner(TelemetryEncoder.RemoteWrite([huge]))];
    }

    private static IReadOnlyList<byte[]> PromKafkaAdapter() =>
        [
            Utf8(
                """{"timestamp":"2026-01-01T00:00:00.123Z","value":"0.25","name":"container_cpu_usage_seconds_total","labels":{"__name__":"container_cpu_usage_seconds_total","container":"adservice","namespace":"shop"}}"""
            ),
            Utf8("""{"timestamp":"2026-01-01T00:00:00Z","value":"NaN","name":"up","labels":{"job":"cart"}}"""),
            Utf8("""{"timestamp":"1767225600","value":1e308,"labels":{"__name__":"up","app":"cart"}}"""),
            Utf8(
                "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"value\":\"+Inf\",\"name\":\"up\",\"labels\":{"
                    + string.Join(",", HugeLabels(300).Select(l => $"\"{l.Key}\":\"{l.Value}\""))
                    + "}}"
            ),
        ];

    private static IReadOnlyList<byte[]> OtlpTracesProto() => [TelemetryEncoder.OtlpTraces(Spans())];

    private static IReadOnlyList<byte[]> OtlpTracesJson() =>
        [
            OtlpJsonEncoder.Encode([.. Spans()], "shop")!,
            Utf8(
                """
                {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"frontend"}},{"key":"k8s.cluster.name","value":{"stringValue":"prod"}}]},"scopeSpans":[{"spans":[
                  {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","parentSpanId":"","name":"GET /cart","kind":2,"startTimeUnixNano":"1767225600123000000","endTimeUnixNano":"1767225600135500000","status":{"code":1}},
                  {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b174","name":"CartService/GetCart","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":1767225600124000000,"endTimeUnixNano":"1767225600134000000",
                   "attributes":[{"key":"peer.service","value":{"stringValue":"cartservice"}},{"key":"n","value":{"intValue":"5"}},{"key":"d","value":{"doubleValue":1.5}},{"key":"b","value":{"boolValue":true}}],"status":{"code":2,"message":"deadline exceeded"}}]}]}]}
                """
            ),
        ];

    private static IReadOnlyList<byte[]> OtlpLogsProto()
    {
        var w = new ProtoWriter();
        w.Message(
            1,
            rl =>
            {
                rl.Message(
                    1,
                    res =>
                        res.Message(
                            1,
                            kv =>
                            {
                                kv.String(1, "service.name");
                                kv.Message(2, v => v.String(1, "payment"));
                            }
                        )
                );
                rl.Message(
                    2,
                    sl =>
                    {
                        sl.Message(
                            2,
                            l =>
                            {
                                l.Fixed64(1, (ulong)T0 * 1_000_000);
                                l.Varint(2, 17);
                                l.String(3, "ERROR");
                                l.Message(5, b => b.String(1, "card declined"));
                            }
                        );
                        sl.Message(
                            2,
                            l =>
                            {
                                l.Fixed64(11, (ulong)T0 * 1_000_000);
                                l.Message(5, b => b.Double(4, double.NaN));
                            }
                        );
                        sl.Message(
                            2,
                            l =>
                            {
                                l.Fixed64(1, ulong.MaxValue);
                                l.Varint(2, ulong.MaxValue);
                                l.Message(5, b => b.Bytes(1, [0xC3, 0x28, 0xFF]));
                            }
                        );
                    }
                );
            }
        );
        return [w.ToArray()];
    }

    private static IReadOnlyList<byte[]> OtlpLogsJson() =>
        [
            Utf8(
                """
                {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payment"}}]},"scopeLogs":[
                  {"logRecords":[{"timeUnixNano":"1767225600123000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"card declined"}}]},
                  {"logRecords":[{"observedTimeUnixNano":"1767225600123000000","body":{"stringValue":"WARN retry"}}]}]}]}
                """
            ),
        ];
}
