using System.Diagnostics;
using System.Globalization;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Features;
using LogWhisperer.Hosting;
using LogWhisperer.Kafka;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// `capacity [services] [minutes]`: the measured costs a capacity plan is built from (docs/capacity.md). On a
/// synthetic mesh: CPU per million spans, log lines and metric samples for each per-record stage (wire decode,
/// validation, windowing), each modality alone; CPU per window for each per-window stage (featurize, graph,
/// score, explain) at this mesh size; the memory a held span costs the window stage; and, as the check of the
/// model, the window stage of the two-stage topology on the mock Kafka cluster with one engine and then two.
/// CPU is the process's CPU time (all threads, the GC included), which other people's load moves much less than
/// the wall clock; each per-record phase runs on one thread, as each stage does in the engine.
/// </summary>
internal static class Capacity
{
    private sealed record Modality(string Name, TelemetryFormat Wire, Func<TelemetryRecord, bool> Is);

    private static readonly Modality[] Modalities =
    [
        new("spans", TelemetryFormat.OtlpTracesProto, r => r is SpanRecord),
        new("log lines", TelemetryFormat.LokiProto, r => r is LogRecord),
        new("metric samples", TelemetryFormat.RemoteWrite, r => r is MetricSample),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        int services = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        int minutes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 6;
        bool kafkaOnly = args.Length > 2 && args[2] == "kafka"; // the check alone
        var topology = SyntheticTopology.Generate(services, seed: 1, requestsPerSecond: 200);
        var sim = new SimulationOptions { Cluster = "cap", Seed = 1 };
        long end = sim.StartMs + minutes * 60_000L;
        var faults = IncidentPlan.Create(topology, 1, 1, sim.StartMs);
        var batches = new ChaosSimulator(topology, sim, faults)
            .RunUntil(end)
            .Select(b => (IReadOnlyList<TelemetryRecord>)b)
            .ToList();
        long total = batches.Sum(b => (long)b.Count);
        var spans = batches.SelectMany(b => b).OfType<SpanRecord>().ToList();
        double spansPerTrace = spans.Count / (double)spans.Select(s => s.TraceId).Distinct().Count();
        Console.WriteLine(
            $"mesh: {services} services, 200 req/s, {minutes} simulated minutes: {total:N0} records "
                + $"({string.Join(", ", Modalities.Select(m => $"{batches.Sum(b => b.Count(m.Is)):N0} {m.Name}"))}); "
                + $"{spansPerTrace:0.0} spans per trace"
        );

        if (kafkaOnly)
        {
            await WindowEnginesOnKafka(batches, sim.StartMs + 2 * 60_000L);
            return 0;
        }

        Console.WriteLine();
        Console.WriteLine("Per record, each modality alone (CPU-seconds per million records):");
        Console.WriteLine("| modality | records | wire decode | validate | window | all three |");
        Console.WriteLine("|----------|--------:|------------:|---------:|-------:|----------:|");
        foreach (var m in Modalities)
        {
            var only = batches
                .Select(b => (IReadOnlyList<TelemetryRecord>)b.Where(m.Is).ToList())
                .Where(b => b.Count > 0)
                .ToList();
            long n = only.Sum(b => (long)b.Count);
            double decode = DecodeCpuPerMillion(m.Wire, only);
            var (validate, window) = await WindowCpuPerMillion(topology, only);
            Console.WriteLine(
                $"| {m.Name} | {n:N0} | {decode:0.00} | {validate:0.00} | {window:0.00} | "
                    + $"{decode + validate + window:0.00} |"
            );
        }

        Console.WriteLine();
        // warm-up: TorchSharp's first forward and backward passes
        await RunPipeline(topology, batches, withScorer: true);
        var full = await RunPipeline(topology, batches, withScorer: true);
        long windows = full.Featurize.RecordsOut;
        Console.WriteLine(
            $"Per window at {services} services ({windows} scored windows, "
                + $"{full.Explain.RecordsOut} with an event; busy milliseconds per window):"
        );
        Console.WriteLine("| featurize | graph | score | explain (per event) |");
        Console.WriteLine("|----------:|------:|------:|--------------------:|");
        Console.WriteLine(
            $"| {PerItem(full.Featurize, windows):0.0} | {PerItem(full.Graph, windows):0.0} | "
                + $"{PerItem(full.Score, windows):0.0} | "
                + $"{PerItem(full.Explain, Math.Max(1, full.Explain.RecordsOut)):0.0} |"
        );

        Console.WriteLine();
        HeldSpanMemory(spans);

        Console.WriteLine();
        await WindowEnginesOnKafka(batches, sim.StartMs + 2 * 60_000L);
        return 0;
    }

    private static double PerItem(StageMetrics stage, long items) => stage.Busy.TotalMilliseconds / items;

    private static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>The records in their wire format (1,000 per message, as the producer writes them), decoded 3
    /// times.</summary>
    private static double DecodeCpuPerMillion(TelemetryFormat wire, List<IReadOnlyList<TelemetryRecord>> batches)
    {
        var records = batches.SelectMany(b => b).ToList();
        var messages = records
            .Chunk(KafkaTelemetryProducer.MaxRecordsPerMessage)
            .Select(chunk =>
                wire switch
                {
                    TelemetryFormat.OtlpTracesProto => TelemetryEncoder.OtlpTraces(chunk.Cast<SpanRecord>()),
                    TelemetryFormat.LokiProto => TelemetryEncoder.LokiPush(chunk.Cast<LogRecord>()),
                    _ => TelemetryEncoder.RemoteWrite(chunk.Cast<MetricSample>()),
                }
            )
            .ToList();
        var decoder = TelemetryDecoders.For(wire, new DecodeOptions());
        var output = new List<TelemetryRecord>(8192);
        void Round()
        {
            foreach (var m in messages)
            {
                output.Clear();
                decoder.Decode(m, output);
            }
        }
        Round(); // warm-up: JIT, pools
        const int rounds = 3;
        double cpu = Cpu();
        for (int i = 0; i < rounds; i++)
            Round();
        return (Cpu() - cpu) / (rounds * records.Count / 1e6);
    }

    /// <summary>The pipeline without a scorer on one modality: validation and window busy time per million.</summary>
    private static async Task<(double Validate, double Window)> WindowCpuPerMillion(
        Topology topology,
        List<IReadOnlyList<TelemetryRecord>> batches
    )
    {
        var pipeline = await RunPipeline(topology, batches, withScorer: false);
        double millions = pipeline.Decode.RecordsIn / 1e6;
        return (pipeline.Decode.Busy.TotalSeconds / millions, pipeline.Window.Busy.TotalSeconds / millions);
    }

    private static async Task<RcaPipeline> RunPipeline(
        Topology topology,
        List<IReadOnlyList<TelemetryRecord>> batches,
        bool withScorer
    )
    {
        GC.Collect();
        var featurizer = new Featurizer(new FeaturizerOptions(), topology.ServiceNames, topology.DeclaredEdges());
        var pipeline = withScorer
            ? new RcaPipeline(
                new PipelineOptions(),
                featurizer,
                EndToEnd.ShippedScorer(ComputeDevice.Select("cpu")),
                new CollectingRcaSink(),
                new MemoryDeadLetterSink()
            )
            : new RcaPipeline(new PipelineOptions(), featurizer, null, null, new MemoryDeadLetterSink());
        await pipeline.RunAsync(new ListSource(batches));
        return pipeline;
    }

    /// <summary>
    /// What the window stage holds per span while its window is open: one window's spans added to a windower that
    /// closes nothing, the managed heap measured before and after (the span records themselves included, as the
    /// windower keeps them until the window closes).
    /// </summary>
    private static void HeldSpanMemory(List<SpanRecord> spans)
    {
        long firstWindowEnd = spans.Min(s => s.TimestampMs) + new WindowOptions().SizeMs;
        var simulated = spans.Where(s => s.TimestampMs < firstWindowEnd).ToList();
        List<SpanRecord> held = [];
        long recordBytes = HeapDelta(() => held = simulated.Select(Copy).ToList());
        var windower = new EventTimeWindower(new WindowOptions(), new PipelineCounters(), new MemoryDeadLetterSink());
        var closed = new List<WindowAggregate>();
        long windowerBytes = HeapDelta(() => windower.Add(held, closed));
        int traces = held.Select(s => s.TraceId).Distinct().Count();
        Console.WriteLine(
            $"Held in an open window: {held.Count:N0} spans of {traces:N0} traces; span records "
                + $"{recordBytes / held.Count:N0} B each (as decoded: ids and names their own strings), the windower's "
                + $"own state {windowerBytes / held.Count:N0} B per span; "
                + $"{(recordBytes + windowerBytes) / (double)traces / 1024:0.0} KiB per active trace in all "
                + $"({closed.Count} windows closed while adding)"
        );
        GC.KeepAlive(windower);
        GC.KeepAlive(held);
    }

    /// <summary>A fresh copy, so the heap delta counts records (and their strings) the simulator does not
    /// hold.</summary>
    private static SpanRecord Copy(SpanRecord s) =>
        s with
        {
            TraceId = new string(s.TraceId),
            SpanId = new string(s.SpanId),
            Operation = new string(s.Operation),
        };

    private static long HeapDelta(Action allocate)
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        allocate();
        return GC.GetTotalMemory(forceFullCollection: true) - before;
    }

    /// <summary>
    /// The check: the two-stage topology's window stage on the mock cluster, one engine and then two engines of one
    /// group in this process, over the same input (the first two simulated minutes, keyed by service, 64
    /// partitions per topic). The engines join first and the input is produced once the group has settled, so
    /// the figure is throughput, not the join and a rebalance; the clock runs from the first record produced to
    /// the idle exit (the idle time subtracted), and the producer's own CPU (measured alone) is subtracted.
    /// </summary>
    private static async Task WindowEnginesOnKafka(List<IReadOnlyList<TelemetryRecord>> batches, long untilMs)
    {
        var input = batches
            .Select(b => (IReadOnlyList<TelemetryRecord>)b.Where(r => r.TimestampMs < untilMs).ToList())
            .Where(b => b.Count > 0)
            .ToList();
        long produced = input.Sum(b => (long)b.Count);
        double producerCpu;
        using (var unread = new MockKafkaCluster())
        {
            double before = Cpu();
            Produce(KafkaFor(unread), input);
            producerCpu = Cpu() - before;
        }
        Console.WriteLine(
            $"Window stage on Kafka (mock cluster in this process; parts written to the service-windows topic; "
                + $"producing the input alone: {producerCpu / (produced / 1e6):0.00} CPU-seconds per million):"
        );
        Console.WriteLine(
            "| window engines | records read | seconds | records/s | CPU-seconds per million | parts written |"
        );
        Console.WriteLine(
            "|---------------:|-------------:|--------:|----------:|------------------------:|--------------:|"
        );
        var checks = new List<string>();
        (double PerRecord, double WindowThread) calibration = default;
        foreach (int engines in new[] { 1, 2 })
        {
            // A run in which the group rebalanced after all (an engine's join or idle exit racing the input) is no
            // throughput figure: it is run again (three tries) until every record was read once.
            double seconds = 0,
                cpuSeconds = 0;
            long read = 0;
            WindowStageResult[] results = [];
            for (int attempt = 1; attempt <= 3; attempt++)
            {
                using var cluster = new MockKafkaCluster();
                var settings = KafkaFor(cluster);
                var assignments = new AssignmentLog();
                var runs = Enumerable
                    .Range(0, engines)
                    .Select(_ =>
                        Task.Run(() =>
                            KafkaTwoStageRun.RunWindowStageAsync(
                                settings,
                                new DecodeOptions(),
                                new PipelineOptions(),
                                loggers: assignments
                            )
                        )
                    )
                    .ToArray();
                await assignments.SettledAsync(engines, quietFor: TimeSpan.FromSeconds(5));
                GC.Collect();
                double cpu = Cpu();
                var clock = Stopwatch.StartNew();
                Produce(settings, input);
                results = await Task.WhenAll(runs);
                seconds = clock.Elapsed.TotalSeconds - settings.StopWhenIdle!.Value.TotalSeconds;
                cpuSeconds = Cpu() - cpu - producerCpu;
                read = results.Sum(r => r.Pipeline.Decode.RecordsIn);
                if (read == produced)
                    break; // a replay after a rebalance reads more, an early idle exit less
                Console.WriteLine(
                    $"| {engines} | {read:N0} of {produced:N0}: rebalanced during the run, again |  |  |  |  |"
                );
            }
            Console.WriteLine(
                $"| {engines} | {read:N0} of {produced:N0} | {seconds:0.0} | {read / seconds:N0} | "
                    + $"{cpuSeconds / (read / 1e6):0.00} | {results.Sum(r => r.PartsWritten):N0} |"
            );
            // The model, calibrated on one engine: CPU per record (the producer's included, as it shares these
            // cores) and the window stage's busy time per record (one thread per engine caps it). Its prediction for
            // two engines is checked against their run.
            double perRecord = (cpuSeconds + producerCpu) / read;
            double windowThread = results.Sum(r => r.Pipeline.Window.Busy.TotalSeconds) / read;
            if (engines == 1)
                calibration = (perRecord, windowThread);
            double predicted = Math.Min(
                Environment.ProcessorCount / calibration.PerRecord,
                engines / calibration.WindowThread
            );
            checks.Add(
                $"{engines} engine(s): the model (calibrated on 1 engine: {calibration.PerRecord * 1e6:0.00} "
                    + $"CPU-s per million with the producer, window thread {calibration.WindowThread * 1e6:0.00} s per "
                    + $"million) predicts min({Environment.ProcessorCount} cores / CPU, {engines} window thread(s)) = "
                    + $"{predicted:N0} records/s; measured {read / seconds:N0}"
            );
        }
        foreach (var check in checks)
            Console.WriteLine(check);
    }

    private static KafkaSettings KafkaFor(MockKafkaCluster cluster)
    {
        var settings = new KafkaSettings
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "window",
            StopWhenIdle = TimeSpan.FromSeconds(20),
            InputTopics = new KafkaTelemetryProducer.Topics().InputTopics(),
        };
        // A mock partition keeps only its newest 5 MiB: enough partitions to keep two minutes of the mesh.
        foreach (var topic in settings.InputTopics.Keys)
            cluster.CreateTopic(topic, 64);
        return settings;
    }

    private static void Produce(KafkaSettings settings, List<IReadOnlyList<TelemetryRecord>> input)
    {
        using var producer = new KafkaTelemetryProducer(settings, keying: KafkaTelemetryProducer.Keying.Service);
        foreach (var batch in input)
            producer.Produce(batch);
        producer.Flush();
    }

    /// <summary>Watches the engines' "partition(s) assigned" lines, to produce only once the group has
    /// settled.</summary>
    private sealed class AssignmentLog : ILoggerFactory, ILogger
    {
        private int _assignments;
        private long _lastAt = Environment.TickCount64;

        public async Task SettledAsync(int engines, TimeSpan quietFor)
        {
            while (
                Volatile.Read(ref _assignments) < engines
                || Environment.TickCount64 - Interlocked.Read(ref _lastAt) < quietFor.TotalMilliseconds
            )
                await Task.Delay(100);
        }

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider) { }

        public void Dispose() { }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(
            LogLevel logLevel,
            EventId eventId,
            TState state,
            Exception? exception,
            Func<TState, Exception?, string> formatter
        )
        {
            string line = formatter(state, exception);
            if (Environment.GetEnvironmentVariable("LW_CAPACITY_LOG") is not null)
                Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {line}");
            if (!line.Contains("assigned", StringComparison.Ordinal))
                return;
            Interlocked.Increment(ref _assignments);
            Interlocked.Exchange(ref _lastAt, Environment.TickCount64);
        }
    }
}
