using System.Text;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Features.Metrics;
using LogWhisperer.Kafka;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;

namespace LogWhisperer.Tests;

/// <summary>
/// OTLP metrics as the OpenTelemetry Collector's Kafka exporter writes them (topic otlp_metrics): golden
/// payloads written field by field from opentelemetry/proto/metrics/v1/metrics.proto with Google.Protobuf,
/// and their otlp_json mapping.
/// </summary>
public class OtlpMetricsTests(MockClusterFixture fixture) : IClassFixture<MockClusterFixture>
{
    private const long T0Ms = 1_767_225_600_000;
    private static readonly DecodeOptions Options = new() { DefaultCluster = "prod" };

    private static ulong Ns(long ms) => (ulong)ms * 1_000_000;

    private static Pb Attr(string key, string value) => new Pb().Str(1, key).Msg(2, new Pb().Str(1, value));

    /// <summary>Packed repeated fixed64 / double, as proto3 writes repeated scalars.</summary>
    private static byte[] Packed(IEnumerable<ulong> values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    private static Pb Histogram(long ms, ulong[] counts, double sum, int temporality) =>
        new Pb()
            .Msg(
                1,
                new Pb()
                    .Msg(9, Attr("reporter", "destination"))
                    .Msg(9, Attr("destination_workload", "cartservice"))
                    .Msg(9, Attr("source_workload", "frontend"))
                    .Fx64(2, Ns(T0Ms - 60_000))
                    .Fx64(3, Ns(ms))
                    .Fx64(4, counts.Aggregate(0UL, (a, c) => a + c))
                    .Dbl(5, sum)
                    .Bytes(6, Packed(counts))
                    .Bytes(7, Packed(new[] { 10.0, 100, 1000 }.Select(BitConverter.DoubleToUInt64Bits)))
            )
            .Int(2, temporality);

    /// <summary>MetricsData: a gauge, a cumulative sum, a delta sum and an Istio duration histogram from the resource
    /// "cartservice".</summary>
    private static byte[] ProtoGolden(
        long ms,
        int deltaRequests,
        ulong[] histogramCounts,
        int histogramTemporality = 2
    ) =>
        new Pb()
            .Msg(
                1,
                new Pb()
                    .Msg(
                        1,
                        new Pb().Msg(1, Attr("service.name", "cartservice")).Msg(1, Attr("k8s.cluster.name", "prod-eu"))
                    )
                    .Msg(
                        2,
                        new Pb()
                            .Msg(1, new Pb().Str(1, "io.opentelemetry.runtime")) // InstrumentationScope: not identity
                            .Msg(
                                2,
                                new Pb()
                                    .Str(1, "process.runtime.memory")
                                    .Str(3, "By")
                                    .Msg(5, new Pb().Msg(1, new Pb().Fx64(3, Ns(ms)).Dbl(4, 1.5e8)))
                            )
                            .Msg(
                                2,
                                new Pb()
                                    .Str(1, "container_cpu_usage_seconds_total")
                                    .Msg(
                                        7,
                                        new Pb()
                                            .Msg(
                                                1,
                                                new Pb()
                                                    .Msg(7, Attr("container", "server"))
                                                    .Fx64(3, Ns(ms))
                                                    .Dbl(4, 12.5)
                                            )
                                            .Int(2, 2)
                                            .Int(3, 1)
                                    )
                            )
                            .Msg(
                                2,
                                new Pb()
                                    .Str(1, "http.server.requests")
                                    .Msg(
                                        7,
                                        new Pb()
                                            .Msg(1, new Pb().Fx64(3, Ns(ms)).Fx64(6, (ulong)deltaRequests))
                                            .Int(2, 1)
                                            .Int(3, 1)
                                    )
                            )
                            .Msg(
                                2,
                                new Pb()
                                    .Str(1, "istio_request_duration_milliseconds")
                                    .Msg(9, Histogram(ms, histogramCounts, 4321.5, histogramTemporality))
                            )
                    )
            )
            .ToArray();

    private static string JsonGolden(long ms, int deltaRequests, ulong[] counts) =>
        $$$"""
            {"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cartservice"}},{"key":"k8s.cluster.name","value":{"stringValue":"prod-eu"}}]},
              "scopeMetrics":[{"scope":{"name":"io.opentelemetry.runtime"},"metrics":[
                {"name":"process.runtime.memory","unit":"By","gauge":{"dataPoints":[{"timeUnixNano":"{{{Ns(
                ms
            )}}}","asDouble":1.5e8}]}},
                {"name":"container_cpu_usage_seconds_total","sum":{"dataPoints":[{"attributes":[{"key":"container","value":{"stringValue":"server"}}],"timeUnixNano":"{{{Ns(
                ms
            )}}}","asDouble":12.5}],"aggregationTemporality":2,"isMonotonic":true}},
                {"name":"http.server.requests","sum":{"dataPoints":[{"timeUnixNano":"{{{Ns(
                ms
            )}}}","asInt":"{{{deltaRequests}}}"}],"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA","isMonotonic":true}},
                {"name":"istio_request_duration_milliseconds","histogram":{"dataPoints":[{"attributes":[
                    {"key":"reporter","value":{"stringValue":"destination"}},{"key":"destination_workload","value":{"stringValue":"cartservice"}},{"key":"source_workload","value":{"stringValue":"frontend"}}],
                  "startTimeUnixNano":"{{{Ns(T0Ms - 60_000)}}}","timeUnixNano":"{{{Ns(
                ms
            )}}}","count":"{{{counts.Aggregate(0UL, (a, c) => a + c)}}}","sum":4321.5,
                  "bucketCounts":[{{{string.Join(
                ",",
                counts.Select(c => $"\"{c}\"")
            )}}}],"explicitBounds":[10,100,1000]}],"aggregationTemporality":2}}
              ]}]}]}
            """;

    private static List<MetricSample> Decode(ITelemetryDecoder decoder, byte[] payload)
    {
        var output = new List<TelemetryRecord>();
        decoder.Decode(payload, output);
        return output.Cast<MetricSample>().ToList();
    }

    private static string Describe(MetricSample m) =>
        $"{m.TimestampMs} {m.Cluster} {m.Service} {m.Name}{(m.Labels is null ? "" : LabelSet.Format(m.Labels.OrderBy(l => l.Key)))} = {m.Value}";

    [Fact]
    public void OtlpProtoMetricsBecomePrometheusStyleSamples()
    {
        var samples = Decode(new OtlpMetricsProtoDecoder(Options), ProtoGolden(T0Ms, 7, [50, 40, 9, 1]));
        Assert.All(samples, s => Assert.Equal(("prod-eu", T0Ms), (s.Cluster, s.TimestampMs)));
        var gauge = Assert.Single(samples, s => s.Name == "process.runtime.memory");
        Assert.Equal(("cartservice", 1.5e8), (gauge.Service, gauge.Value));
        var cpu = Assert.Single(samples, s => s.Name == "container_cpu_usage_seconds_total");
        Assert.Equal((12.5, "server"), (cpu.Value, cpu.Labels!["container"]));
        Assert.Equal(7, Assert.Single(samples, s => s.Name == "http.server.requests").Value);

        // Histogram: cumulative buckets by le, +Inf = count, then _count and _sum; the Istio identity names the
        // service.
        var buckets = samples.Where(s => s.Name == "istio_request_duration_milliseconds_bucket").ToList();
        Assert.Equal(["10", "100", "1000", "+Inf"], buckets.Select(b => b.Labels!["le"]));
        Assert.Equal([50.0, 90, 99, 100], buckets.Select(b => b.Value));
        Assert.All(buckets, b => Assert.Equal("cartservice", b.Service));
        Assert.Equal(100, Assert.Single(samples, s => s.Name == "istio_request_duration_milliseconds_count").Value);
        Assert.Equal(4321.5, Assert.Single(samples, s => s.Name == "istio_request_duration_milliseconds_sum").Value);
        Assert.Equal(
            10,
            HistogramQuantile.Compute(
                0.5,
                buckets.Select(b =>
                    (b.Labels!["le"] == "+Inf" ? double.PositiveInfinity : double.Parse(b.Labels["le"]), b.Value)
                )
            ),
            6
        );
        Assert.True(MeshRequestSamples.Reads(buckets[0])); // the same samples the remote-write path feeds the window
    }

    [Fact]
    public void DeltaSumsAndHistogramsBecomeRunningTotals()
    {
        var decoder = new OtlpMetricsProtoDecoder(Options);
        Decode(decoder, ProtoGolden(T0Ms, 7, [5, 4, 1, 0], histogramTemporality: 1));
        var second = Decode(decoder, ProtoGolden(T0Ms + 10_000, 3, [1, 1, 0, 1], histogramTemporality: 1));
        Assert.Equal(10, Assert.Single(second, s => s.Name == "http.server.requests").Value); // 7 + 3
        Assert.Equal([6.0, 11, 12, 13], second.Where(s => s.Name.EndsWith("_bucket")).Select(b => b.Value));
        // cumulative stays as is
        Assert.Equal(12.5, Assert.Single(second, s => s.Name == "container_cpu_usage_seconds_total").Value);
    }

    [Fact]
    public void OtlpJsonMetricsDecodeLikeProto()
    {
        ulong[] counts = [50, 40, 9, 1];
        var fromProto = Decode(new OtlpMetricsProtoDecoder(Options), ProtoGolden(T0Ms, 7, counts)).Select(Describe);
        var fromJson = Decode(new OtlpMetricsJsonDecoder(Options), Encoding.UTF8.GetBytes(JsonGolden(T0Ms, 7, counts)))
            .Select(Describe);
        Assert.Equal(fromProto, fromJson);
        Assert.Equal(9, fromJson.Count()); // gauge, 2 sums, 4 buckets, count, sum
    }

    public static TheoryData<TelemetryFormat, byte[], string> Malformed =>
        new()
        {
            { TelemetryFormat.OtlpMetricsProto, ProtoGolden(T0Ms, 7, [1, 2, 3, 4])[..^9], "protobuf" },
            {
                TelemetryFormat.OtlpMetricsProto,
                ProtoGolden(T0Ms, 7, [1, 2, 3]),
                "3 bucket counts for 3 explicit bounds"
            },
            {
                TelemetryFormat.OtlpMetricsProto,
                new Pb().Msg(1, new Pb().Msg(2, new Pb().Msg(2, new Pb().Msg(5, new Pb())))).ToArray(),
                "without a name"
            },
            {
                TelemetryFormat.OtlpMetricsProto,
                new Pb()
                    .Msg(
                        1,
                        new Pb().Msg(
                            2,
                            new Pb().Msg(2, new Pb().Str(1, "up").Msg(5, new Pb().Msg(1, new Pb().Fx64(3, 1))))
                        )
                    )
                    .ToArray(),
                "without a value"
            },
            {
                TelemetryFormat.OtlpMetricsJson,
                Encoding.UTF8.GetBytes(
                    """{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"up","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":"high"}]}}]}]}]}"""
                ),
                "not a number"
            },
            {
                TelemetryFormat.OtlpMetricsJson,
                Encoding.UTF8.GetBytes("""{"resourceMetrics":{}}"""),
                "must be an array"
            },
            {
                TelemetryFormat.OtlpMetricsJson,
                Encoding.UTF8.GetBytes(JsonGolden(T0Ms, 1, [1, 2]).Replace("[10,100,1000]", "[100,10,1000]")),
                "bucket counts"
            },
        };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedOtlpMetricsFailWithAClearReason(TelemetryFormat format, byte[] payload, string reason)
    {
        var e = Assert.Throws<InvalidDataException>(() => TelemetryDecoders.For(format, Options).Decode(payload, []));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void OtlpMetricsIsADefaultInputTopic() =>
        Assert.Equal(TelemetryFormat.OtlpMetricsProto, KafkaSettings.DefaultInputTopics["otlp_metrics"]);

    [Fact]
    public async Task OtlpMetricsFromKafkaAreReadAndBadOnesDeadLettered()
    {
        string bootstrap = fixture.Cluster.BootstrapServers;
        var settings = new KafkaSettings
        {
            BootstrapServers = bootstrap,
            GroupId = "otlpm-engine",
            InputTopics = new Dictionary<string, TelemetryFormat>
            {
                ["otlpm_metrics"] = TelemetryFormat.OtlpMetricsProto,
            },
            DeadLetterTopic = "otlpm_dlq",
            OutputTopic = "otlpm_rca",
            StopWhenIdle = TimeSpan.FromSeconds(2),
        };
        // kcat produces each file as one message: good, malformed (bucket counts do not match bounds), good.
        var dir = TestData.TempDir();
        string[] files = [Path.Combine(dir, "a.bin"), Path.Combine(dir, "b.bin"), Path.Combine(dir, "c.bin")];
        File.WriteAllBytes(files[0], ProtoGolden(T0Ms, 1, [1, 1, 1, 1]));
        File.WriteAllBytes(files[1], ProtoGolden(T0Ms + 5_000, 1, [1, 1]));
        File.WriteAllBytes(files[2], ProtoGolden(T0Ms + 10_000, 1, [2, 2, 2, 2]));
        foreach (var f in files)
            Kcat.Run(bootstrap, $"-P -t otlpm_metrics -p 0 {f}");

        using var deadLetters = new KafkaDeadLetterSink(settings);
        using var source = new KafkaTelemetrySource(
            settings,
            Options,
            deadLetters,
            new LogWhisperer.Windowing.WindowOptions()
        );
        var records = new List<TelemetryRecord>();
        await foreach (var batch in source.ReadAsync(CancellationToken.None))
            records.AddRange(batch);
        deadLetters.Flush(TimeSpan.FromSeconds(10));

        Assert.Equal(18, records.Count); // 9 samples from each good message
        Assert.Equal([T0Ms, T0Ms + 10_000], records.Select(r => r.TimestampMs).Distinct().Order());
        Assert.Equal(1, source.Counters.Undecodable);
        // Headers only: the raw protobuf value may hold tabs and newlines.
        var letter = Assert.Single(
            Kcat.Run(bootstrap, $"-C -t {settings.DeadLetterTopic} -e -q -f '%h\\n'")
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        );
        Assert.Contains("lw-source-topic=otlpm_metrics", letter);
        Assert.Contains("lw-source-offset=1", letter);
        Assert.Contains("bucket counts", letter);
    }
}
