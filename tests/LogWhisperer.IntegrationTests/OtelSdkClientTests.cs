using System.Text.Json;
using Confluent.Kafka;
using Google.Protobuf;
using LogWhisperer.Cli.Gateway;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Evaluation;
using LogWhisperer.Hosting;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

/// <summary>
/// A real OpenTelemetry client end to end: tests/OtelSdkClient (four services instrumented with the official
/// OpenTelemetry .NET SDK, exporting traces, logs and metrics over OTLP/HTTP protobuf) pushes to the ingest
/// gateway, which writes Kafka (librdkafka's mock cluster); the engine reads the topics and must name the
/// service the program made throw. Every payload here is the SDK's, none ours: where they disagree with our
/// decoders, the SDK is right. The program runs in real time (event time = its clock), about 75 s.
/// </summary>
[Collection(SeveralEnginesCollection.Name)]
public class OtelSdkClientTests(ITestOutputHelper output)
{
    private sealed record ClientReport(
        long Requests,
        long Failed,
        long Spans,
        long Logs,
        string Faulty,
        long FaultStartMs,
        long FaultEndMs,
        long StartMs,
        string Cluster,
        string? Sdk
    );

    [Fact]
    public async Task AnOpenTelemetrySdkProgramsFaultIsFoundThroughTheGatewayAndKafka()
    {
        using var cluster = new MockKafkaCluster();
        var topics = new Dictionary<string, TelemetryFormat>
        {
            ["otlp_spans"] = TelemetryFormat.OtlpTracesProto,
            ["otlp_logs"] = TelemetryFormat.OtlpLogsProto,
            ["otlp_metrics"] = TelemetryFormat.OtlpMetricsProto,
        };
        foreach (var topic in topics.Keys)
            cluster.CreateTopic(topic, 4);
        var settings = new KafkaSettings
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "otel-sdk-engine",
            InputTopics = topics,
            OutputTopic = "otel_sdk_rca",
            DeadLetterTopic = "otel_sdk_dlq",
            StopWhenIdle = TimeSpan.FromSeconds(2),
        };

        // 1. The program exports to the gateway (with its bearer token, as OTEL_EXPORTER_OTLP_HEADERS would send it).
        ClientReport report;
        long accepted;
        await using (
            var gateway = new IngestGateway(
                new GatewayOptions
                {
                    Kafka = settings,
                    Http = new HttpSecurityOptions { Listen = "127.0.0.1:0", BearerToken = "s3cret" },
                }
            )
        )
        {
            await gateway.StartAsync();
            // Built beside the tests (same configuration and framework): tests/OtelSdkClient/bin/<config>/<tfm>/.
            var client = Path.Combine(
                AppContext.BaseDirectory.Replace(
                    Path.Combine("tests", "LogWhisperer.IntegrationTests"),
                    Path.Combine("tests", "OtelSdkClient")
                ),
                "OtelSdkClient.dll"
            );
            var (exit, stdout, stderr) = TestData.RunProcess(
                "dotnet",
                [
                    client,
                    "--endpoint",
                    gateway.Urls.First(),
                    "--header",
                    "Authorization=Bearer s3cret",
                    "--normal-seconds",
                    "50",
                    "--fault-seconds",
                    "20",
                    "--faulty",
                    "payment",
                    "--rps",
                    "25",
                ],
                TimeSpan.FromMinutes(4)
            );
            Assert.True(exit == 0, stdout + stderr);
            report = JsonSerializer.Deserialize<ClientReport>(
                stdout.Trim().Split('\n')[^1],
                new JsonSerializerOptions(JsonSerializerDefaults.Web)
            )!;
            output.WriteLine($"client: {stdout.Trim()}");
            Assert.Equal(0, gateway.Rejected); // every SDK payload passed our decoders at the door
            accepted = gateway.Accepted;
        }
        Assert.True(report.Failed > 0 && report.Spans > 0 && report.Logs > 0);

        // 2. What the SDK sent, read back raw and walked with protobuf's own reader (not ours).
        var raw = ReadAll(cluster.BootstrapServers, topics.Keys, accepted);
        var spanIds = new HashSet<(ByteString Trace, ByteString Span)>();
        foreach (var payload in raw["otlp_spans"])
        foreach (var span in Items(payload))
            spanIds.Add((Field(span, 1), Field(span, 2)));
        Assert.Equal(report.Spans, spanIds.Count);
        int logRecords = 0;
        foreach (var payload in raw["otlp_logs"])
        foreach (var log in Items(payload))
        {
            logRecords++;
            var (trace, span) = (Field(log, 9), Field(log, 10)); // LogRecord.trace_id, span_id
            Assert.Equal(16, trace.Length);
            Assert.Equal(8, span.Length);
            Assert.Contains((trace, span), spanIds); // every log line points at a span the program exported
        }
        Assert.Equal(report.Logs, logRecords);

        // 3. Our decoders read the same payloads: every span and log record, and the SDK's histograms as Prometheus
        // would.
        var decoded = topics.ToDictionary(
            t => t.Key,
            t =>
            {
                var decoder = TelemetryDecoders.For(t.Value, new DecodeOptions());
                var records = new List<TelemetryRecord>();
                foreach (var payload in raw[t.Key])
                    decoder.Decode(payload, records);
                return records;
            }
        );
        Assert.Equal(report.Spans, decoded["otlp_spans"].Count);
        Assert.All(
            decoded["otlp_spans"].Concat(decoded["otlp_logs"]).Concat(decoded["otlp_metrics"]),
            r => Assert.Equal(report.Cluster, r.Cluster)
        );
        var spans = decoded["otlp_spans"].Cast<SpanRecord>().ToList();
        Assert.Equal(
            spanIds
                .Select(i => (Convert.ToHexStringLower(i.Trace.Span), Convert.ToHexStringLower(i.Span.Span)))
                .Order(),
            spans.Select(s => (s.TraceId, s.SpanId)).Order()
        );
        Assert.Equal(["catalog", "checkout", "frontend", "payment"], spans.Select(s => s.Service).Distinct().Order());
        Assert.Contains(spans, s => s.Service == "checkout" && s.Kind == SpanKind.Client && s.PeerService == "payment");
        Assert.Contains(spans, s => s.Service == "payment" && s.Kind == SpanKind.Server && s.IsError);
        var logs = decoded["otlp_logs"].Cast<LogRecord>().ToList();
        Assert.Equal(report.Logs, logs.Count);
        Assert.Contains(
            logs,
            l =>
                l.Service == "payment"
                && l.Severity == LogSeverity.Error
                && l.Message.Contains("upstream processor refused")
        );
        var metrics = decoded["otlp_metrics"].Cast<MetricSample>().ToList();
        Assert.Contains(metrics, m => m.Service == "payment" && m.Name == "http.server.request.duration_bucket");
        Assert.Contains(
            metrics,
            m => m.Service == "payment" && m.Name == "http.server.request.duration_count" && m.Value > 0
        );

        // 4. The engine on those topics, with 5 s windows (the program ran 70 s, not the hour 30 s windows would need).
        var collected = new CollectingRcaSink();
        var options = new PipelineOptions
        {
            Windows = new WindowOptions { SizeMs = 5_000, HopMs = 5_000 },
        };
        var scorer = new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU);
        var result = await KafkaRun.RunAsync(
            settings,
            new DecodeOptions(),
            options,
            scorer,
            alsoTo: sink => new FanOutRcaSink(sink, collected)
        );
        Assert.Equal(0, result.Ingest.Undecodable);
        Assert.Equal(0, result.DeadLetters);
        Assert.Equal(decoded.Values.Sum(r => (long)r.Count), result.Pipeline.Decode.RecordsIn);

        var fault = new Fault(report.Faulty, FaultKind.Errors, report.FaultStartMs, report.FaultEndMs, 0.8);
        var verdict = EvaluationReport
            .Score([fault], collected.Events, (int)result.Pipeline.Counters.QuietWindows)
            .Incidents[0];
        foreach (var e in collected.Events)
            output.WriteLine(
                $"{e.WindowStart:HH:mm:ss} {e.Candidates[0].Service} {e.Candidates[0].Score:0.00} {e.FaultType.Kind}"
            );
        Assert.True(
            verdict.FirstEvent is not null,
            $"no RCA event during the fault ({collected.Events.Count} events, "
                + $"{result.Pipeline.Counters.QuietWindows} quiet windows)"
        );
        output.WriteLine($"verdict: {verdict.FirstEvent.Explanation}");
        Assert.Equal(1, verdict.Rank);
    }

    /// <summary>Every message of the topics, by topic, until as many as the gateway accepted have been read.</summary>
    private static Dictionary<string, List<byte[]>> ReadAll(string bootstrap, IEnumerable<string> topics, long expected)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(
            new ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = "raw-" + Guid.NewGuid(),
                AutoOffsetReset = AutoOffsetReset.Earliest,
            }
        ).Build();
        consumer.Subscribe(topics);
        var read = topics.ToDictionary(t => t, _ => new List<byte[]>());
        long count = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (count < expected && DateTime.UtcNow < deadline)
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r)
            {
                read[r.Topic].Add(r.Message.Value);
                count++;
            }
        Assert.Equal(expected, count);
        return read;
    }

    /// <summary>TracesData / LogsData → resource (1) → scope (2) → spans / log records (2).</summary>
    private static IEnumerable<ByteString> Items(byte[] payload) =>
        Messages(ByteString.CopyFrom(payload), 1).SelectMany(r => Messages(r, 2)).SelectMany(s => Messages(s, 2));

    private static ByteString Field(ByteString message, int field) =>
        Messages(message, field).SingleOrDefault() ?? ByteString.Empty;

    /// <summary>The length-delimited fields numbered <paramref name="field"/> of a message.</summary>
    private static List<ByteString> Messages(ByteString message, int field)
    {
        var input = message.CreateCodedInput();
        var found = new List<ByteString>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (
                WireFormat.GetTagFieldNumber(tag) == field
                && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited
            )
                found.Add(input.ReadBytes());
            else
                input.SkipLastField();
        }
        return found;
    }
}
