using System.Text;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

/// <summary>
/// Golden payloads for every input format, written from the formats' published schemas (protobuf bodies with
/// Google.Protobuf's own writer, JSON as the tools emit it), plus compressed and malformed variants.
/// </summary>
public class FormatTests
{
    private static readonly DecodeOptions Options = new() { DefaultCluster = "prod-eu" };
    private const long T0Ms = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z

    private static List<TelemetryRecord> Decode(TelemetryFormat format, byte[] payload)
    {
        var output = new List<TelemetryRecord>();
        TelemetryDecoders.For(format, Options).Decode(payload, output);
        return output;
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Snappy(byte[] raw) => Snappier.Snappy.CompressToArray(raw);

    // ── Loki ──────────────────────────────────────────────────────────────────────────────────────────
    [Fact]
    public void LokiJsonPushBecomesLogRecords()
    {
        var json = """
            {"streams":[
              {"stream":{"app":"cartservice","namespace":"shop","cluster":"prod-us"},
               "values":[["1767225600123000000","GET /cart 200 in 4ms"],["1767225601000000000","ERROR redis timeout after 500ms",{"trace_id":"abc"}]]},
              {"stream":{"service_name":"frontend","level":"warn"},"values":[["1767225602500000000","slow upstream"]]}
            ]}
            """;
        var records = Decode(TelemetryFormat.LokiJson, Utf8(json)).Cast<LogRecord>().ToList();
        Assert.Equal(3, records.Count);
        Assert.Equal(
            new LogRecord(T0Ms, "prod-us", "cartservice", LogSeverity.Info, "GET /cart 200 in 4ms"),
            records[0]
        );
        Assert.Equal(LogSeverity.Error, records[1].Severity);
        Assert.Equal(1_767_225_601_000, records[1].TimestampMs);
        Assert.Equal(
            new LogRecord(1_767_225_602_500, "prod-eu", "frontend", LogSeverity.Warn, "slow upstream"),
            records[2]
        );
    }

    private static byte[] LokiProtoGolden() =>
        new Pb()
            .Msg(
                1,
                new Pb()
                    .Str(1, """{app="checkout", cluster="prod-us", pod="checkout-7d9\"x"}""")
                    .Msg(2, new Pb().Msg(1, new Pb().Int(1, 1_767_225_600).Int(2, 123_000_000)).Str(2, "order placed"))
                    .Msg(
                        2,
                        new Pb()
                            .Msg(1, new Pb().Int(1, 1_767_225_601))
                            .Str(2, "level=error msg=\"payment declined\"")
                            .Msg(3, new Pb().Str(1, "trace_id").Str(2, "0af7"))
                    )
                    .Int(3, 12345)
            )
            .ToArray();

    [Fact]
    public void LokiProtobufPushIsSnappyDecodedAndLabelled()
    {
        var records = Decode(TelemetryFormat.LokiProto, Snappy(LokiProtoGolden())).Cast<LogRecord>().ToList();
        Assert.Equal(2, records.Count);
        Assert.Equal(new LogRecord(T0Ms, "prod-us", "checkout", LogSeverity.Info, "order placed"), records[0]);
        Assert.Equal(
            new LogRecord(
                1_767_225_601_000,
                "prod-us",
                "checkout",
                LogSeverity.Error,
                "level=error msg=\"payment declined\""
            ),
            records[1]
        );
    }

    [Fact]
    public void LabelSetParsesEscapesAndRejectsGarbage()
    {
        var labels = LabelSet.Parse("""{a="x\"y", b="line\nnext" ,c=""}""");
        Assert.Equal(["x\"y", "line\nnext", ""], new[] { labels["a"], labels["b"], labels["c"] });
        Assert.Equal(labels, LabelSet.Parse(LabelSet.Format(labels)));
        Assert.Throws<InvalidDataException>(() => LabelSet.Parse("app=cart"));
        Assert.Throws<InvalidDataException>(() => LabelSet.Parse("{app=\"cart}"));
    }

    // ── JSON log lines ────────────────────────────────────────────────────────────────────────────────
    [Fact]
    public void FluentBitVectorAndRsyslogLinesAreUnderstood()
    {
        var fluentBit =
            """{"@timestamp":1767225600.123,"log":"connection refused","stream":"stderr","level":"error","kubernetes":{"pod_name":"cart-5f","namespace_name":"shop","container_name":"server","labels":{"app":"cartservice"}}}""";
        var vector =
            """{"timestamp":"2026-01-01T00:00:00.123Z","message":"GET / 200","kubernetes":{"container_name":"server","pod_namespace":"shop","pod_labels":{"app.kubernetes.io/name":"frontend"}}}""";
        var rsyslog =
            """{"@timestamp":"2026-01-01T00:00:00.123+00:00","host":"node-1","programname":"payment","severity":"warning","msg":"retrying charge"}""";
        Assert.Equal(
            new LogRecord(T0Ms, "prod-eu", "cartservice", LogSeverity.Error, "connection refused"),
            Decode(TelemetryFormat.JsonLogLine, Utf8(fluentBit)).Single()
        );
        Assert.Equal(
            new LogRecord(T0Ms, "prod-eu", "frontend", LogSeverity.Info, "GET / 200"),
            Decode(TelemetryFormat.JsonLogLine, Utf8(vector)).Single()
        );
        Assert.Equal(
            new LogRecord(T0Ms, "prod-eu", "payment", LogSeverity.Warn, "retrying charge"),
            Decode(TelemetryFormat.JsonLogLine, Utf8(rsyslog)).Single()
        );
    }

    [Fact]
    public void ServiceLabelsAreConfigurable()
    {
        var line = Utf8("""{"time":1767225600123,"msg":"x","app":"a","team_service":"b"}""");
        var custom = new DecodeOptions { ServiceLabels = ["team_service", "app"] };
        var output = new List<TelemetryRecord>();
        new JsonLogLineDecoder(custom).Decode(line, output);
        Assert.Equal("b", output[0].Service);
        Assert.Equal(T0Ms, output[0].TimestampMs); // milliseconds told from seconds by magnitude
    }

    // ── Prometheus ────────────────────────────────────────────────────────────────────────────────────
    private static Pb Label(string n, string v) => new Pb().Str(1, n).Str(2, v);

    private static byte[] RemoteWriteGolden() =>
        new Pb()
            .Msg(
                1,
                new Pb()
                    .Msg(1, Label("__name__", "istio_requests_total"))
                    .Msg(1, Label("destination_workload", "cartservice"))
                    .Msg(1, Label("reporter", "destination"))
                    .Msg(1, Label("response_code", "503"))
                    .Msg(1, Label("source_workload", "frontend"))
                    .Msg(2, new Pb().Dbl(1, 1520).Int(2, T0Ms))
                    .Msg(2, new Pb().Dbl(1, 1545).Int(2, T0Ms + 15_000))
            )
            .Msg(
                1,
                new Pb()
                    .Msg(1, Label("__name__", "container_memory_working_set_bytes"))
                    .Msg(1, Label("cluster", "prod-us"))
                    .Msg(1, Label("container", "redis-cart"))
                    .Msg(2, new Pb().Dbl(1, 1.5e8).Int(2, T0Ms))
                    .Msg(2, new Pb().Fx64(1, RemoteWriteDecoder.StaleNaN).Int(2, T0Ms + 30_000))
            )
            .Msg(3, new Pb().Int(1, 1).Str(2, "istio_requests_total").Str(4, "Total requests")) // metadata: skipped
            .ToArray();

    [Fact]
    public void RemoteWriteBecomesSamplesWithIstioIdentity()
    {
        var samples = Decode(TelemetryFormat.RemoteWrite, Snappy(RemoteWriteGolden())).Cast<MetricSample>().ToList();
        Assert.Equal(3, samples.Count); // the staleness marker carries no value
        Assert.Equal(
            ("cartservice", "istio_requests_total", 1520.0, T0Ms),
            (samples[0].Service, samples[0].Name, samples[0].Value, samples[0].TimestampMs)
        );
        Assert.Equal(1545.0, samples[1].Value);
        Assert.Equal("503", samples[0].Labels!["response_code"]);
        Assert.False(samples[0].Labels!.ContainsKey("__name__"));
        Assert.Equal(("prod-us", "redis-cart", 1.5e8), (samples[2].Cluster, samples[2].Service, samples[2].Value));
    }

    [Fact]
    public void PrometheusKafkaAdapterJsonBecomesASample()
    {
        var json =
            """{"timestamp":"2026-01-01T00:00:00.123Z","value":"0.25","name":"container_cpu_usage_seconds_total","labels":{"__name__":"container_cpu_usage_seconds_total","container":"adservice","namespace":"shop"}}""";
        var s = (MetricSample)Decode(TelemetryFormat.PromKafkaAdapter, Utf8(json)).Single();
        Assert.Equal(
            (T0Ms, "prod-eu", "adservice", "container_cpu_usage_seconds_total", 0.25),
            (s.TimestampMs, s.Cluster, s.Service, s.Name, s.Value)
        );
        Assert.Equal("shop", s.Labels!["namespace"]);
    }

    // ── OTLP ──────────────────────────────────────────────────────────────────────────────────────────
    private static Pb Attr(string k, string v) => new Pb().Str(1, k).Msg(2, new Pb().Str(1, v));

    private static byte[] OtlpTracesGolden() =>
        new Pb()
            .Msg(
                1,
                new Pb()
                    .Msg(
                        1,
                        new Pb()
                            .Msg(1, Attr("service.name", "frontend"))
                            .Msg(1, Attr("k8s.cluster.name", "prod-us"))
                            .Msg(1, new Pb().Str(1, "process.pid").Msg(2, new Pb().Int(3, 42)))
                    )
                    .Msg(
                        2,
                        new Pb()
                            .Msg(1, new Pb().Str(1, "io.opentelemetry.grpc"))
                            .Msg(
                                2,
                                new Pb()
                                    .Bytes(1, Convert.FromHexString("5b8efff798038103d269b633813fc60c"))
                                    .Bytes(2, Convert.FromHexString("eee19b7ec3c1b174"))
                                    .Str(5, "GET /cart")
                                    .Int(6, 2)
                                    .Fx64(7, (ulong)T0Ms * 1_000_000)
                                    .Fx64(8, (ulong)T0Ms * 1_000_000 + 12_500_000)
                                    .Msg(15, new Pb().Int(3, 1))
                            )
                            .Msg(
                                2,
                                new Pb()
                                    .Bytes(1, Convert.FromHexString("5b8efff798038103d269b633813fc60c"))
                                    .Bytes(2, Convert.FromHexString("eee19b7ec3c1b175"))
                                    .Bytes(4, Convert.FromHexString("eee19b7ec3c1b174"))
                                    .Str(5, "CartService/GetCart")
                                    .Int(6, 3)
                                    .Fx64(7, (ulong)T0Ms * 1_000_000 + 1_000_000)
                                    .Fx64(8, (ulong)T0Ms * 1_000_000 + 11_000_000)
                                    .Msg(9, Attr("rpc.system", "grpc"))
                                    .Msg(9, Attr("peer.service", "cartservice"))
                                    .Msg(15, new Pb().Str(2, "deadline exceeded").Int(3, 2))
                            )
                    )
            )
            .ToArray();

    [Fact]
    public void OtlpProtoTracesBecomeSpans()
    {
        var spans = Decode(TelemetryFormat.OtlpTracesProto, OtlpTracesGolden()).Cast<SpanRecord>().ToList();
        Assert.Equal(2, spans.Count);
        Assert.Equal(
            new SpanRecord(
                T0Ms,
                "prod-us",
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
            spans[0]
        );
        Assert.Equal(
            new SpanRecord(
                T0Ms + 1,
                "prod-us",
                "frontend",
                "5b8efff798038103d269b633813fc60c",
                "eee19b7ec3c1b175",
                "eee19b7ec3c1b174",
                "CartService/GetCart",
                SpanKind.Client,
                "cartservice",
                10,
                true
            ),
            spans[1]
        );
    }

    [Fact]
    public void OtlpJsonTracesMatchTheProtobufOnes()
    {
        var json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"frontend"}},{"key":"k8s.cluster.name","value":{"stringValue":"prod-us"}},{"key":"process.pid","value":{"intValue":"42"}}]},
              "scopeSpans":[{"scope":{"name":"io.opentelemetry.grpc"},"spans":[
                {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","parentSpanId":"","name":"GET /cart","kind":2,"startTimeUnixNano":"1767225600123000000","endTimeUnixNano":"1767225600135500000","status":{"code":1}},
                {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b174","name":"CartService/GetCart","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":"1767225600124000000","endTimeUnixNano":"1767225600134000000",
                 "attributes":[{"key":"peer.service","value":{"stringValue":"cartservice"}}],"status":{"code":2,"message":"deadline exceeded"}}]}]}]}
            """;
        Assert.Equal(
            Decode(TelemetryFormat.OtlpTracesProto, OtlpTracesGolden()),
            Decode(TelemetryFormat.OtlpTracesJson, Utf8(json))
        );
    }

    [Fact]
    public void OtlpLogsProtoAndJsonAgree()
    {
        var proto = new Pb()
            .Msg(
                1,
                new Pb()
                    .Msg(1, new Pb().Msg(1, Attr("service.name", "payment")))
                    .Msg(
                        2,
                        new Pb().Msg(
                            2,
                            new Pb()
                                .Fx64(1, (ulong)T0Ms * 1_000_000)
                                .Int(2, 17)
                                .Str(3, "ERROR")
                                .Msg(5, new Pb().Str(1, "card declined"))
                        )
                    )
                    .Msg(
                        2,
                        new Pb().Msg(
                            2,
                            new Pb().Fx64(11, (ulong)T0Ms * 1_000_000).Msg(5, new Pb().Str(1, "WARN retry"))
                        )
                    )
            )
            .ToArray();
        var json = """
            {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payment"}}]},"scopeLogs":[
              {"logRecords":[{"timeUnixNano":"1767225600123000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"card declined"}}]},
              {"logRecords":[{"observedTimeUnixNano":"1767225600123000000","body":{"stringValue":"WARN retry"}}]}]}]}
            """;
        var fromProto = Decode(TelemetryFormat.OtlpLogsProto, proto);
        Assert.Equal(
            [
                new LogRecord(T0Ms, "prod-eu", "payment", LogSeverity.Error, "card declined"),
                new LogRecord(T0Ms, "prod-eu", "payment", LogSeverity.Warn, "WARN retry"),
            ],
            fromProto
        );
        Assert.Equal(fromProto, Decode(TelemetryFormat.OtlpLogsJson, Utf8(json)));
    }

    // ── Malformed input: a clear InvalidDataException, never another exception or a crash ─────────────
    public static TheoryData<TelemetryFormat, byte[], string> Malformed() =>
        new()
        {
            {
                TelemetryFormat.LokiJson,
                Utf8("{\"streams\":[{\"stream\":{},\"values\":[[1767225600,\"x\"]]}]}"),
                "value must be"
            },
            { TelemetryFormat.LokiJson, Utf8("{\"streams\":"), "malformed JSON" },
            { TelemetryFormat.LokiJson, Utf8("{\"stream\":[]}"), "no \"streams\"" },
            { TelemetryFormat.LokiProto, LokiProtoGolden(), "snappy" }, // not compressed
            { TelemetryFormat.LokiProto, Snappy(LokiProtoGolden()[..^7]), "protobuf" }, // truncated
            { TelemetryFormat.LokiProto, Snappy(new Pb().Msg(1, new Pb().Str(1, "app=cart")).ToArray()), "label set" },
            { TelemetryFormat.JsonLogLine, Utf8("{\"msg\":\"no time\"}"), "no timestamp" },
            { TelemetryFormat.JsonLogLine, Utf8("[1,2]"), "not a JSON object" },
            { TelemetryFormat.JsonLogLine, Utf8("{\"time\":\"yesterday\",\"msg\":\"x\"}"), "not a timestamp" },
            { TelemetryFormat.RemoteWrite, Snappy(RemoteWriteGolden())[..^3], "snappy" },
            {
                TelemetryFormat.RemoteWrite,
                Snappy(
                    new Pb()
                        .Msg(1, new Pb().Msg(1, Label("job", "x")).Msg(2, new Pb().Dbl(1, 1).Int(2, T0Ms)))
                        .ToArray()
                ),
                "__name__"
            },
            { TelemetryFormat.RemoteWrite, Snappy([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), "runs past the end" },
            { TelemetryFormat.RemoteWrite, Snappy(new Pb().Int(1, 5).ToArray()), "wire type" },
            {
                TelemetryFormat.PromKafkaAdapter,
                Utf8("{\"timestamp\":\"2026-01-01T00:00:00Z\",\"value\":\"abc\",\"name\":\"up\"}"),
                "not a number"
            },
            { TelemetryFormat.OtlpTracesProto, OtlpTracesGolden()[..^5], "protobuf" },
            {
                TelemetryFormat.OtlpTracesProto,
                new Pb().Msg(1, new Pb().Msg(2, new Pb().Msg(2, new Pb().Fx64(7, 2000).Fx64(8, 1000)))).ToArray(),
                "ends before it starts"
            },
            { TelemetryFormat.OtlpTracesJson, Utf8("{\"resourceSpans\":{}}"), "must be an array" },
            {
                TelemetryFormat.OtlpTracesJson,
                Utf8(
                    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"x\",\"endTimeUnixNano\":\"1\"}]}]}]}"
                ),
                "nanosecond"
            },
            { TelemetryFormat.OtlpLogsJson, Utf8("\u0000\u0001"), "malformed JSON" },
        };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedPayloadsFailWithAClearReason(TelemetryFormat format, byte[] payload, string reason)
    {
        var e = Assert.Throws<InvalidDataException>(() => Decode(format, payload));
        Assert.Contains(reason, e.Message);
    }

    // ── Our encoders write what the decoders (and so the real tools' formats) read ────────────────────
    [Fact]
    public void SimulatorTelemetryRoundTripsThroughTheWireFormats()
    {
        var sim = new LogWhisperer.Simulation.ChaosSimulator(
            TestData.OnlineBoutique(),
            new LogWhisperer.Simulation.SimulationOptions { Cluster = "ob", Seed = 3 },
            []
        );
        var batch = Enumerable.Range(0, 5).SelectMany(_ => sim.NextSecond()).ToList();
        var logs = batch.OfType<LogRecord>().ToList();
        var metrics = batch.OfType<MetricSample>().ToList();
        var spans = batch.OfType<SpanRecord>().ToList();
        Assert.True(logs.Count > 0 && metrics.Count > 0 && spans.Count > 0);

        var decodedLogs = Decode(TelemetryFormat.LokiProto, TelemetryEncoder.LokiPush(logs)).Cast<LogRecord>();
        Assert.Equal(
            logs.OrderBy(l => (l.Service, l.Severity, l.TimestampMs, l.Message)),
            decodedLogs.OrderBy(l => (l.Service, l.Severity, l.TimestampMs, l.Message))
        );

        var decodedMetrics = Decode(TelemetryFormat.RemoteWrite, TelemetryEncoder.RemoteWrite(metrics))
            .Cast<MetricSample>()
            .ToList();
        Assert.Equal(
            metrics.Select(m => (m.TimestampMs, m.Cluster, m.Service, m.Name, m.Value)),
            decodedMetrics.Select(m => (m.TimestampMs, m.Cluster, m.Service, m.Name, m.Value))
        );

        var decodedSpans = Decode(TelemetryFormat.OtlpTracesProto, TelemetryEncoder.OtlpTraces(spans))
            .Cast<SpanRecord>()
            .ToList();
        // Span times go through nanoseconds: equal to well below a microsecond.
        Assert.Equal(spans.Count, decodedSpans.Count);
        var expected = spans.OrderBy(s => s.SpanId).ToList();
        var actual = decodedSpans.OrderBy(s => s.SpanId).ToList();
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i] with { DurationMs = 0 }, actual[i] with { DurationMs = 0 });
            Assert.Equal(expected[i].DurationMs, actual[i].DurationMs, 1e-6);
        }
    }
}
