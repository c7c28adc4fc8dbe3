using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Kafka;
using LogWhisperer.Simulation;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// Decoding one simulated minute of Online Boutique telemetry in each wire format, as the messages a shipper
/// would write (protobuf formats in batches of up to 1000 records, one JSON object per message for the
/// per-record JSON formats). records/s = Records / mean time.
/// </summary>
[MemoryDiagnoser]
public class DecodeBenchmark
{
    [Params(TelemetryFormat.LokiProto, TelemetryFormat.LokiJson, TelemetryFormat.JsonLogLine, TelemetryFormat.RemoteWrite,
        TelemetryFormat.PromKafkaAdapter, TelemetryFormat.OtlpTracesProto, TelemetryFormat.OtlpTracesJson)]
    public TelemetryFormat Format { get; set; }

    private List<byte[]> _messages = [];
    private ITelemetryDecoder _decoder = null!;
    private readonly List<TelemetryRecord> _output = new(4096);

    [GlobalSetup]
    public void Setup()
    {
        _messages = Messages(Format, OneMinute());
        _decoder = TelemetryDecoders.For(Format, new DecodeOptions());
        Console.WriteLine($"// {Format}: {_messages.Count} messages, {Decode()} records, {_messages.Sum(m => m.Length) / 1024} KiB");
    }

    [Benchmark(Description = "decode one simulated minute")]
    public int Decode()
    {
        int n = 0;
        foreach (var m in _messages) { _output.Clear(); _decoder.Decode(m, _output); n += _output.Count; }
        return n;
    }

    internal static List<TelemetryRecord> OneMinute()
    {
        var topology = Topology.Load(Path.Combine(AppContext.BaseDirectory, "topologies", "online-boutique.json"));
        var sim = new ChaosSimulator(topology, new SimulationOptions { Cluster = "ob" });
        return sim.RunUntil(sim.NowMs + 60_000).SelectMany(b => b).ToList();
    }

    internal static List<byte[]> Messages(TelemetryFormat format, List<TelemetryRecord> records)
    {
        var logs = records.OfType<LogRecord>().ToList();
        var metrics = records.OfType<MetricSample>().ToList();
        var spans = records.OfType<SpanRecord>().ToList();
        static string Ns(long ms) => (ms * 1_000_000).ToString(CultureInfo.InvariantCulture);
        return format switch
        {
            TelemetryFormat.LokiProto => logs.Chunk(1000).Select(c => TelemetryEncoder.LokiPush(c)).ToList(),
            TelemetryFormat.RemoteWrite => metrics.Chunk(1000).Select(c => TelemetryEncoder.RemoteWrite(c)).ToList(),
            TelemetryFormat.OtlpTracesProto => spans.Chunk(1000).Select(c => TelemetryEncoder.OtlpTraces(c)).ToList(),
            TelemetryFormat.LokiJson => logs.Chunk(1000).Select(c => JsonSerializer.SerializeToUtf8Bytes(new
            {
                streams = c.GroupBy(l => (l.Service, l.Severity)).Select(g => new
                {
                    stream = new Dictionary<string, string> { ["service_name"] = g.Key.Service, ["level"] = g.Key.Severity.ToString().ToLowerInvariant() },
                    values = g.Select(l => new[] { Ns(l.TimestampMs), l.Message }),
                }),
            })).ToList(),
            TelemetryFormat.JsonLogLine => logs.Select(l => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
            {
                ["@timestamp"] = l.TimestampMs / 1000.0, ["log"] = l.Message, ["level"] = l.Severity.ToString().ToLowerInvariant(),
                ["kubernetes"] = new { pod_name = l.Service + "-7d9f", namespace_name = "shop", container_name = "server", labels = new Dictionary<string, string> { ["app"] = l.Service } },
            })).ToList(),
            TelemetryFormat.PromKafkaAdapter => metrics.Select(m => JsonSerializer.SerializeToUtf8Bytes(new
            {
                timestamp = DateTimeOffset.FromUnixTimeMilliseconds(m.TimestampMs).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                value = m.Value.ToString("R", CultureInfo.InvariantCulture), name = m.Name,
                labels = new Dictionary<string, string> { ["__name__"] = m.Name, ["service_name"] = m.Service, ["namespace"] = "shop" },
            })).ToList(),
            TelemetryFormat.OtlpTracesJson => spans.Chunk(1000).Select(c => JsonSerializer.SerializeToUtf8Bytes(new
            {
                resourceSpans = c.GroupBy(s => s.Service).Select(g => new
                {
                    resource = new { attributes = new[] { new { key = "service.name", value = new { stringValue = g.Key } } } },
                    scopeSpans = new[]
                    {
                        new
                        {
                            spans = g.Select(s => new
                            {
                                traceId = s.TraceId, spanId = s.SpanId, parentSpanId = s.ParentSpanId ?? "", name = s.Operation, kind = s.Kind == SpanKind.Client ? 3 : 2,
                                startTimeUnixNano = Ns(s.TimestampMs), endTimeUnixNano = ((long)(s.TimestampMs * 1e6 + s.DurationMs * 1e6)).ToString(CultureInfo.InvariantCulture),
                                attributes = s.PeerService is null ? [] : new[] { new { key = "peer.service", value = new { stringValue = s.PeerService } } },
                                status = new { code = s.IsError ? 2 : 0 },
                            }),
                        },
                    },
                }),
            })).ToList(),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }
}

/// <summary>
/// `kafka-ingest [seconds]`: the Kafka source alone (consume + decode + event-time merge) over librdkafka's
/// mock cluster, reading simulated Online Boutique telemetry written in Loki push / remote-write / OTLP.
/// </summary>
internal static class KafkaIngest
{
    public static async Task<int> RunAsync(string[] args)
    {
        int minutes = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        using var cluster = new MockKafkaCluster();
        var settings = new KafkaSettings
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = "bench", StopWhenIdle = TimeSpan.FromSeconds(1),
            ClientConfig = KafkaSettings.ParseProperties(args.Skip(1)), // librdkafka tuning to compare, key=value
        };
        var topology = Topology.Load(Path.Combine(AppContext.BaseDirectory, "topologies", "online-boutique.json"));
        var sim = new ChaosSimulator(topology, new SimulationOptions { Cluster = "ob" });
        long produced = 0;
        // One mesh for one engine: spread over all partitions (keyed by cluster, it would sit on one partition).
        using (var producer = new KafkaTelemetryProducer(settings, keying: KafkaTelemetryProducer.Keying.Service))
        {
            settings = settings with { InputTopics = producer.InputTopics };
            foreach (var batch in sim.RunUntil(sim.NowMs + minutes * 60_000L)) { producer.Produce(batch); produced += batch.Count; }
            producer.Flush();
        }
        using var deadLetters = new KafkaDeadLetterSink(settings);
        using var source = new KafkaTelemetrySource(settings, new DecodeOptions(), deadLetters, new Windowing.WindowOptions());
        long read = 0;
        Stopwatch? clock = null;
        await foreach (var batch in source.ReadAsync(CancellationToken.None)) { clock ??= Stopwatch.StartNew(); read += batch.Count; }
        // The clock starts at the first batch (group join excluded) and includes the final idle second; subtract it.
        var seconds = clock!.Elapsed.TotalSeconds - settings.StopWhenIdle!.Value.TotalSeconds;
        Console.WriteLine($"kafka ingest: {read:N0} of {produced:N0} records in {seconds:0.00} s = {read / seconds:N0} records/s ({source.Counters})");
        return read == produced ? 0 : 1;
    }
}
