using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Confluent.Kafka;
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
    [Params(
        TelemetryFormat.LokiProto,
        TelemetryFormat.LokiJson,
        TelemetryFormat.JsonLogLine,
        TelemetryFormat.RemoteWrite,
        TelemetryFormat.PromKafkaAdapter,
        TelemetryFormat.OtlpTracesProto,
        TelemetryFormat.OtlpTracesJson,
        TelemetryFormat.OtlpMetricsProto,
        TelemetryFormat.OtlpMetricsJson
    )]
    public TelemetryFormat Format { get; set; }

    private List<byte[]> _messages = [];
    private ITelemetryDecoder _decoder = null!;
    private readonly List<TelemetryRecord> _output = new(4096);

    [GlobalSetup]
    public void Setup()
    {
        _messages = Messages(Format, OneMinute());
        _decoder = TelemetryDecoders.For(Format, new DecodeOptions());
        Console.WriteLine(
            $"// {Format}: {_messages.Count} messages, {Decode()} records, {_messages.Sum(m => m.Length) / 1024} KiB"
        );
    }

    [Benchmark(Description = "decode one simulated minute")]
    public int Decode()
    {
        int n = 0;
        foreach (var m in _messages)
        {
            _output.Clear();
            _decoder.Decode(m, _output);
            n += _output.Count;
        }
        return n;
    }

    /// <summary>One simulated minute of Online Boutique, with the Istio request metrics (counters and
    /// histograms).</summary>
    internal static List<TelemetryRecord> OneMinute()
    {
        var topology = Topology.Load(Path.Combine(AppContext.BaseDirectory, "topologies", "online-boutique.json"));
        var sim = new ChaosSimulator(topology, new SimulationOptions { Cluster = "ob", IstioMetrics = true });
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
            TelemetryFormat.LokiJson => logs.Chunk(1000)
                .Select(c =>
                    JsonSerializer.SerializeToUtf8Bytes(
                        new
                        {
                            streams = c.GroupBy(l => (l.Service, l.Severity))
                                .Select(g => new
                                {
                                    stream = new Dictionary<string, string>
                                    {
                                        ["service_name"] = g.Key.Service,
                                        ["level"] = g.Key.Severity.ToString().ToLowerInvariant(),
                                    },
                                    values = g.Select(l => new[] { Ns(l.TimestampMs), l.Message }),
                                }),
                        }
                    )
                )
                .ToList(),
            TelemetryFormat.JsonLogLine => logs.Select(l =>
                    JsonSerializer.SerializeToUtf8Bytes(
                        new Dictionary<string, object>
                        {
                            ["@timestamp"] = l.TimestampMs / 1000.0,
                            ["log"] = l.Message,
                            ["level"] = l.Severity.ToString().ToLowerInvariant(),
                            ["kubernetes"] = new
                            {
                                pod_name = l.Service + "-7d9f",
                                namespace_name = "shop",
                                container_name = "server",
                                labels = new Dictionary<string, string> { ["app"] = l.Service },
                            },
                        }
                    )
                )
                .ToList(),
            TelemetryFormat.PromKafkaAdapter => metrics
                .Select(m =>
                    JsonSerializer.SerializeToUtf8Bytes(
                        new
                        {
                            timestamp = DateTimeOffset
                                .FromUnixTimeMilliseconds(m.TimestampMs)
                                .ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                            value = m.Value.ToString("R", CultureInfo.InvariantCulture),
                            name = m.Name,
                            labels = new Dictionary<string, string>
                            {
                                ["__name__"] = m.Name,
                                ["service_name"] = m.Service,
                                ["namespace"] = "shop",
                            },
                        }
                    )
                )
                .ToList(),
            TelemetryFormat.OtlpTracesJson => spans
                .Chunk(1000)
                .Select(c =>
                    JsonSerializer.SerializeToUtf8Bytes(
                        new
                        {
                            resourceSpans = c.GroupBy(s => s.Service)
                                .Select(g => new
                                {
                                    resource = new
                                    {
                                        attributes = new[]
                                        {
                                            new { key = "service.name", value = new { stringValue = g.Key } },
                                        },
                                    },
                                    scopeSpans = new[]
                                    {
                                        new
                                        {
                                            spans = g.Select(s => new
                                            {
                                                traceId = s.TraceId,
                                                spanId = s.SpanId,
                                                parentSpanId = s.ParentSpanId ?? "",
                                                name = s.Operation,
                                                kind = s.Kind == SpanKind.Client ? 3 : 2,
                                                startTimeUnixNano = Ns(s.TimestampMs),
                                                endTimeUnixNano = (
                                                    (long)(s.TimestampMs * 1e6 + s.DurationMs * 1e6)
                                                ).ToString(CultureInfo.InvariantCulture),
                                                attributes = s.PeerService is null
                                                    ? []
                                                    : new[]
                                                    {
                                                        new
                                                        {
                                                            key = "peer.service",
                                                            value = new { stringValue = s.PeerService },
                                                        },
                                                    },
                                                status = new { code = s.IsError ? 2 : 0 },
                                            }),
                                        },
                                    },
                                }),
                        }
                    )
                )
                .ToList(),
            // One export per scrape, so a histogram's buckets stay together.
            TelemetryFormat.OtlpMetricsProto => metrics
                .GroupBy(m => m.TimestampMs)
                .Select(g => OtlpMetrics.Proto(g.ToArray()))
                .ToList(),
            TelemetryFormat.OtlpMetricsJson => metrics
                .GroupBy(m => m.TimestampMs)
                .Select(g => OtlpMetrics.Json(g.ToArray()))
                .ToList(),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }
}

/// <summary>
/// Simulated metric samples as an OpenTelemetry SDK would export them (MetricsData): *_bucket series folded
/// back into one explicit-bucket histogram point per series and scrape, *_total as monotonic cumulative sums,
/// the rest as gauges; one ResourceMetrics per service.
/// </summary>
internal static class OtlpMetrics
{
    private sealed record Point(
        string Kind,
        string Name,
        long Ms,
        double Value,
        IReadOnlyDictionary<string, string> Attributes,
        double[] Bounds,
        ulong[] Counts
    );

    private static IEnumerable<(string Service, List<Point> Points)> Points(IEnumerable<MetricSample> samples)
    {
        foreach (var service in samples.GroupBy(m => m.Service))
        {
            var points = new List<Point>();
            foreach (
                var m in service.Where(m =>
                    !m.Name.EndsWith("_bucket") && !m.Name.EndsWith("_sum") && !m.Name.EndsWith("_count")
                )
            )
                points.Add(
                    new Point(
                        m.Name.EndsWith("_total") ? "sum" : "gauge",
                        m.Name,
                        m.TimestampMs,
                        m.Value,
                        m.Labels ?? new Dictionary<string, string>(),
                        [],
                        []
                    )
                );
            foreach (
                var h in service
                    .Where(m => m.Name.EndsWith("_bucket") && m.Labels is not null)
                    .GroupBy(m =>
                        (
                            m.Name,
                            m.TimestampMs,
                            Key: string.Join(
                                ",",
                                m.Labels!.Where(l => l.Key != "le").Select(l => l.Key + "=" + l.Value)
                            )
                        )
                    )
            )
            {
                var buckets = h.Select(b =>
                        (
                            Le: b.Labels!["le"] == "+Inf"
                                ? double.PositiveInfinity
                                : double.Parse(b.Labels["le"], CultureInfo.InvariantCulture),
                            b.Value
                        )
                    )
                    .OrderBy(b => b.Le)
                    .ToArray();
                var counts = buckets.Select((b, i) => (ulong)(b.Value - (i == 0 ? 0 : buckets[i - 1].Value))).ToArray();
                var attributes = h.First().Labels!.Where(l => l.Key != "le").ToDictionary();
                points.Add(
                    new Point(
                        "histogram",
                        h.Key.Name[..^"_bucket".Length],
                        h.Key.TimestampMs,
                        0,
                        attributes,
                        buckets.Where(b => !double.IsInfinity(b.Le)).Select(b => b.Le).ToArray(),
                        counts
                    )
                );
            }
            yield return (service.Key, points);
        }
    }

    private static void Attribute(ProtoWriter w, int field, string key, string value) =>
        w.Message(
            field,
            kv =>
            {
                kv.String(1, key);
                kv.Message(2, v => v.String(1, value));
            }
        );

    public static byte[] Proto(MetricSample[] samples)
    {
        var w = new ProtoWriter();
        foreach (var (service, points) in Points(samples))
            w.Message(
                1,
                rm =>
                {
                    rm.Message(
                        1,
                        res =>
                        {
                            Attribute(res, 1, "service.name", service);
                            Attribute(res, 1, "k8s.cluster.name", "ob");
                        }
                    );
                    rm.Message(
                        2,
                        sm =>
                        {
                            foreach (var p in points)
                                sm.Message(
                                    2,
                                    metric =>
                                    {
                                        metric.String(1, p.Name);
                                        ulong ns = (ulong)p.Ms * 1_000_000;
                                        if (p.Kind == "histogram")
                                            metric.Message(
                                                9,
                                                h =>
                                                {
                                                    h.Message(
                                                        1,
                                                        dp =>
                                                        {
                                                            foreach (var (k, v) in p.Attributes)
                                                                Attribute(dp, 9, k, v);
                                                            dp.Fixed64(3, ns);
                                                            dp.Fixed64(4, p.Counts.Aggregate(0UL, (a, c) => a + c));
                                                            dp.Bytes(
                                                                6,
                                                                p.Counts.SelectMany(BitConverter.GetBytes).ToArray()
                                                            );
                                                            dp.Bytes(
                                                                7,
                                                                p.Bounds.SelectMany(BitConverter.GetBytes).ToArray()
                                                            );
                                                        }
                                                    );
                                                    h.Varint(2, 2);
                                                }
                                            );
                                        else
                                            metric.Message(
                                                p.Kind == "sum" ? 7 : 5,
                                                body =>
                                                {
                                                    body.Message(
                                                        1,
                                                        dp =>
                                                        {
                                                            foreach (var (k, v) in p.Attributes)
                                                                Attribute(dp, 7, k, v);
                                                            dp.Fixed64(3, ns);
                                                            dp.Double(4, p.Value);
                                                        }
                                                    );
                                                    if (p.Kind == "sum")
                                                    {
                                                        body.Varint(2, 2);
                                                        body.Varint(3, 1);
                                                    }
                                                }
                                            );
                                    }
                                );
                        }
                    );
                }
            );
        return w.ToArray();
    }

    public static byte[] Json(MetricSample[] samples)
    {
        static object Attrs(IReadOnlyDictionary<string, string> a) =>
            a.Select(kv => new { key = kv.Key, value = new { stringValue = kv.Value } }).ToArray();
        return JsonSerializer.SerializeToUtf8Bytes(
            new
            {
                resourceMetrics = Points(samples)
                    .Select(s => new
                    {
                        resource = new
                        {
                            attributes = Attrs(
                                new Dictionary<string, string>
                                {
                                    ["service.name"] = s.Service,
                                    ["k8s.cluster.name"] = "ob",
                                }
                            ),
                        },
                        scopeMetrics = new[]
                        {
                            new
                            {
                                metrics = s.Points.Select(p =>
                                    p.Kind switch
                                    {
                                        "histogram" => (object)
                                            new
                                            {
                                                name = p.Name,
                                                histogram = new
                                                {
                                                    aggregationTemporality = 2,
                                                    dataPoints = new[]
                                                    {
                                                        new
                                                        {
                                                            attributes = Attrs(p.Attributes),
                                                            timeUnixNano = (p.Ms * 1_000_000).ToString(
                                                                CultureInfo.InvariantCulture
                                                            ),
                                                            count = p
                                                                .Counts.Aggregate(0UL, (a, c) => a + c)
                                                                .ToString(CultureInfo.InvariantCulture),
                                                            bucketCounts = p.Counts.Select(c =>
                                                                c.ToString(CultureInfo.InvariantCulture)
                                                            ),
                                                            explicitBounds = p.Bounds,
                                                        },
                                                    },
                                                },
                                            },
                                        "sum" => new
                                        {
                                            name = p.Name,
                                            sum = new
                                            {
                                                aggregationTemporality = 2,
                                                isMonotonic = true,
                                                dataPoints = new[]
                                                {
                                                    new
                                                    {
                                                        attributes = Attrs(p.Attributes),
                                                        timeUnixNano = (p.Ms * 1_000_000).ToString(
                                                            CultureInfo.InvariantCulture
                                                        ),
                                                        asDouble = p.Value,
                                                    },
                                                },
                                            },
                                        },
                                        _ => new
                                        {
                                            name = p.Name,
                                            gauge = new
                                            {
                                                dataPoints = new[]
                                                {
                                                    new
                                                    {
                                                        attributes = Attrs(p.Attributes),
                                                        timeUnixNano = (p.Ms * 1_000_000).ToString(
                                                            CultureInfo.InvariantCulture
                                                        ),
                                                        asDouble = p.Value,
                                                    },
                                                },
                                            },
                                        },
                                    }
                                ),
                            },
                        },
                    }),
            }
        );
    }
}

/// <summary>
/// `decode [formats…]`: a quick stopwatch pass over the same simulated minute per format (best of 20 rounds
/// after warm-up) with the bytes allocated per record, which, unlike the time, the machine's load does not move.
/// </summary>
internal static class DecodeQuick
{
    public static int Run(string[] args)
    {
        var minute = DecodeBenchmark.OneMinute();
        var formats =
            args.Length > 0
                ? args.Select(TelemetryDecoders.Parse).ToArray()
                : Enum.GetValues<TelemetryFormat>()
                    .Where(f =>
                        f
                            is not (
                                TelemetryFormat.OtlpLogsProto
                                or TelemetryFormat.OtlpLogsJson
                                or TelemetryFormat.Changes
                            )
                    )
                    .ToArray(); // changes are not telemetry the simulated minute has
        Console.WriteLine("| format | messages | records | best round | records/s | bytes allocated/record |");
        Console.WriteLine("|--------|---------:|--------:|-----------:|----------:|-----------------------:|");
        foreach (var format in formats)
        {
            var messages = DecodeBenchmark.Messages(format, minute);
            var decoder = TelemetryDecoders.For(format, new DecodeOptions());
            var output = new List<TelemetryRecord>(8192);
            int Round()
            {
                int n = 0;
                foreach (var m in messages)
                {
                    output.Clear();
                    decoder.Decode(m, output);
                    n += output.Count;
                }
                return n;
            }
            for (int i = 0; i < 5; i++)
                Round();
            long before = GC.GetAllocatedBytesForCurrentThread();
            int records = Round();
            double perRecord = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)records;
            var best = TimeSpan.MaxValue;
            for (int i = 0; i < 20; i++)
            {
                var clock = Stopwatch.StartNew();
                Round();
                if (clock.Elapsed < best)
                    best = clock.Elapsed;
            }
            Console.WriteLine(
                $"| {format} | {messages.Count:N0} | {records:N0} | {best.TotalMilliseconds:0.00} "
                    + $"ms | {records / best.TotalSeconds:N0} | {perRecord:N0} |"
            );
        }
        return 0;
    }
}

/// <summary>
/// `kafka-ingest [seconds]`: the Kafka source alone (consume + decode + event-time merge) over librdkafka's
/// mock cluster, reading simulated Online Boutique telemetry written in Loki push / remote-write / OTLP.
/// `kafka-ingest 30 partitions=16` for long runs (see <see cref="MockKafkaCluster.CreateTopic"/>).
/// </summary>
internal static class KafkaIngest
{
    public static async Task<int> RunAsync(string[] args)
    {
        int minutes = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var properties = KafkaSettings.ParseProperties(args.Skip(1)); // librdkafka tuning to compare, key=value
        // partitions=N: create the input topics with N partitions (a mock partition keeps only its newest 5 MiB,
        // so long runs need more than the auto-created 4 to keep everything that was produced).
        int partitions = properties.Remove("partitions", out var p) ? int.Parse(p, CultureInfo.InvariantCulture) : 0;
        using var cluster = new MockKafkaCluster();
        var settings = new KafkaSettings
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "bench",
            StopWhenIdle = TimeSpan.FromSeconds(1),
            ClientConfig = properties,
        };
        var topology = Topology.Load(Path.Combine(AppContext.BaseDirectory, "topologies", "online-boutique.json"));
        var sim = new ChaosSimulator(topology, new SimulationOptions { Cluster = "ob" });
        long produced = 0;
        // One mesh for one engine: spread over all partitions (keyed by cluster, it would sit on one partition).
        using (var producer = new KafkaTelemetryProducer(settings, keying: KafkaTelemetryProducer.Keying.Service))
        {
            settings = settings with { InputTopics = producer.InputTopics };
            if (partitions > 0)
                foreach (var topic in producer.InputTopics.Keys)
                    cluster.CreateTopic(topic, partitions);
            foreach (var batch in sim.RunUntil(sim.NowMs + minutes * 60_000L))
            {
                producer.Produce(batch);
                produced += batch.Count;
            }
            producer.Flush();
        }
        using var deadLetters = new KafkaDeadLetterSink(settings);
        using var source = new KafkaTelemetrySource(
            settings,
            new DecodeOptions(),
            deadLetters,
            new Windowing.WindowOptions()
        );
        long read = 0;
        Stopwatch? clock = null;
        TimeSpan cpuAtStart = TimeSpan.Zero;
        ThreadCpu? threadsAtStart = null;
        await foreach (var batch in source.ReadAsync(CancellationToken.None))
        {
            if (clock is null)
            {
                clock = Stopwatch.StartNew();
                cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
                threadsAtStart = ThreadCpu.Now();
            }
            read += batch.Count;
        }
        // The clock starts at the first batch (group join excluded) and includes the final idle second; subtract it.
        var seconds = clock!.Elapsed.TotalSeconds - settings.StopWhenIdle!.Value.TotalSeconds;
        // CPU time of the whole process (consumer, librdkafka and the in-process mock brokers): on a shared
        // machine it moves far less with other people's load than the wall clock does.
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalSeconds;
        Console.WriteLine(
            $"kafka ingest: {read:N0} of {produced:N0} records in {seconds:0.00} s = {read / seconds:N0} records/s; "
                + $"{cpu:0.00} CPU-s = {read / cpu:N0} records per CPU-second ({source.Counters})"
        );
        // Where the CPU went, by thread: what stands between this loop and more records per second.
        foreach (var (group, threads, busy) in ThreadCpu.Now().Since(threadsAtStart!).Take(8))
            Console.WriteLine($"  {group, -16} {threads, 3} thread(s) {busy, 6:0.00} CPU-s ({busy / cpu:P0})");
        // The same topics read again by a bare consumer loop, first without decoding, then decoding on the consumer
        // thread: what the source adds beyond them is offset tracking, the event-time merge and the decode tasks.
        Layer("consume only", settings, decode: false);
        Layer("consume + decode", settings, decode: true);
        return read == produced ? 0 : 1;
    }

    private static void Layer(string name, KafkaSettings settings, bool decode)
    {
        var config = settings.Apply(
            KafkaTelemetrySource.Tuned(
                new ConsumerConfig
                {
                    GroupId = "bench-" + name,
                    AutoOffsetReset = AutoOffsetReset.Earliest,
                    EnableAutoCommit = false,
                    EnablePartitionEof = true,
                }
            )
        );
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        consumer.Subscribe(settings.InputTopics.Keys);
        var decoders = settings.InputTopics.ToDictionary(t => t.Key, t => TelemetryDecoders.For(t.Value, new()));
        var records = new List<TelemetryRecord>();
        long messages = 0,
            decoded = 0;
        Stopwatch? clock = null;
        var cpuAtStart = TimeSpan.Zero;
        var idle = Stopwatch.StartNew();
        // Idle counts from the first message: joining the group takes longer than the idle limit.
        while (clock is null ? idle.Elapsed < TimeSpan.FromSeconds(60) : idle.Elapsed < settings.StopWhenIdle!.Value)
        {
            var message = consumer.Consume(TimeSpan.FromMilliseconds(50));
            if (message is null || message.IsPartitionEOF)
                continue;
            if (clock is null)
            {
                clock = Stopwatch.StartNew();
                cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
            }
            idle.Restart();
            messages++;
            if (decode)
            {
                records.Clear();
                decoders[message.Topic].Decode(message.Message.Value, records);
                decoded += records.Count;
            }
        }
        var seconds = clock!.Elapsed.TotalSeconds - settings.StopWhenIdle!.Value.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalSeconds;
        Console.WriteLine(
            $"{name}: {messages:N0} messages in {seconds:0.00} s, {cpu:0.00} CPU-s"
                + (decode ? $" = {decoded / cpu:N0} records per CPU-second" : "")
        );
    }
}
