using System.Diagnostics;
using System.Globalization;
using LogWhisperer.Decode;
using LogWhisperer.Evaluation;
using LogWhisperer.Hosting;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;

namespace LogWhisperer.Benchmarks;

/// <summary>The engine under degraded input: a volume burst (memory, events, shedding) and accuracy with evidence
/// missing.</summary>
public static class Degraded
{
    /// <summary>
    /// `burst [load factor] [shed above records per window]`: the shipped model on a 50-service mesh at 200
    /// requests/s times the factor, live from the simulator, through one incident (5 min warm-up, the fault,
    /// 2 min after); peak working set, largest managed heap, events emitted, and what was shed. Run once per
    /// factor: a process's peak working set only grows.
    /// </summary>
    public static async Task<int> BurstAsync(string[] args)
    {
        double factor = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var ingest =
            args.Length > 1
                ? new IngestOptions { ShedAboveRecordsPerWindow = long.Parse(args[1], CultureInfo.InvariantCulture) }
                : new IngestOptions();
        var topology = SyntheticTopology.Generate(50, seed: 1, requestsPerSecond: 200);
        var sim = new SimulationOptions
        {
            Cluster = "burst",
            Seed = 1,
            LoadFactor = factor,
        };
        var faults = IncidentPlan.Create(topology, 1, 1, sim.StartMs);
        long end = IncidentPlan.EndOf(faults, sim.StartMs);
        double minutes = (end - sim.StartMs) / 60_000.0;
        var scorer = Scorer();

        long maxHeap = 0;
        using var sampler = new Timer(
            _ => Interlocked.Exchange(ref maxHeap, Math.Max(Interlocked.Read(ref maxHeap), GC.GetTotalMemory(false))),
            null,
            0,
            50
        );
        var clock = Stopwatch.StartNew();
        var sink = new CollectingRcaSink();
        var pipeline = await new SimulatedRun
        {
            Topology = topology,
            Faults = faults,
            Simulation = sim,
            EndMs = end,
            Pipeline = new PipelineOptions { Ingest = ingest },
        }.RunAsync(scorer, sink);
        var elapsed = clock.Elapsed;
        long records = pipeline.Decode.RecordsIn;
        Console.WriteLine(
            $"burst {factor}x, {minutes:0.0} simulated minutes, fault {faults[0].Kind} on {faults[0].Service}: "
                + $"{records:N0} records ({records / (minutes * 60.0):N0}/s of event time) "
                + $"in {elapsed.TotalSeconds:0.0} s; "
                + $"{sink.Events.Count} RCA events, {pipeline.Counters.QuietWindows} quiet windows; "
                + $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576:N0} MiB, "
                + $"max managed heap {Interlocked.Read(ref maxHeap) / 1048576:N0} MiB; late dropped {pipeline.Counters.LateDropped:N0}; ingest: {(pipeline.Ingest.Snapshot().Count == 0 ? "nothing shed" : pipeline.Ingest.ToString())}"
        );
        return 0;
    }

    /// <summary>
    /// `degraded [incidents] [seed]`: AC@1 of the shipped model on Online Boutique incidents with complete
    /// telemetry and then with logs missing, traces sampled to 1 %, logs two minutes behind and 20 % of
    /// batches redelivered, each on the same incidents.
    /// </summary>
    public static async Task<int> AccuracyAsync(string[] args)
    {
        int incidents = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
        int seed = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        var topology = Topology.Load(Path.Combine(AppContext.BaseDirectory, "topologies", "online-boutique.json"));
        var scorer = Scorer();
        var kinds = scorer
            .Model.Config.FaultKinds.Select(n => Enum.TryParse<FaultKind>(n, out var k) ? k : (FaultKind?)null)
            .OfType<FaultKind>()
            .ToArray();
        Degradation[] cases =
        [
            Degradation.None,
            new() { DropLogs = true },
            new() { TraceKeepShare = 0.01 },
            new() { LogSkewMs = 120_000 },
            new() { RedeliverShare = 0.2 },
        ];
        Console.WriteLine($"{topology.Name}, {incidents} incidents, seed {seed}");
        Console.WriteLine("| degradation | detected | AC@1 | AC@3 | AC@1 (z-score baseline) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var degradation in cases)
        {
            var result = await new Evaluator(
                topology,
                scorer,
                [new RobustZScoreRanker()],
                kinds: kinds.Length > 0 ? kinds : null,
                degradation: degradation
            ).RunAsync(incidents, seed);
            var r = result.Ranking;
            Console.WriteLine(
                $"| {degradation} | {r.Incidents.Count(i => i.Alarmed)}/{incidents} | "
                    + $"{r.AccuracyAt(0, 1):0.00} | {r.AccuracyAt(0, 3):0.00} | {r.AccuracyAt(1, 1):0.00} |"
            );
        }
        return 0;
    }

    private static GatScorer Scorer()
    {
        var device = ComputeDevice.Select();
        var shipped =
            EndToEnd.ShippedModelPath()
            ?? throw new FileNotFoundException("the shipped model src/LogWhisperer.Cli/models/gat-default.lwm");
        return new GatScorer(GatModel.Load(shipped, device), device);
    }
}

/// <summary>`hostile [records]`: a sender inventing a new service name for every log line, through the whole pipeline
/// (no scorer).</summary>
public static class HostileServices
{
    public static async Task<int> RunAsync(string[] args)
    {
        int records = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        // `hostile N unlimited`: the same stream with the service limit lifted, to see what the limit saves.
        var ingest =
            args.Length > 1 && args[1] == "unlimited"
                ? new IngestOptions { MaxServicesPerClusterWindow = int.MaxValue }
                : new IngestOptions();
        long t0 = new SimulationOptions().StartMs;
        var batches = Enumerable
            .Range(0, records / 1000)
            .Select(b =>
                (IReadOnlyList<Telemetry.TelemetryRecord>)
                    Enumerable
                        .Range(b * 1000, 1000)
                        .Select(i =>
                            (Telemetry.TelemetryRecord)
                                new Telemetry.LogRecord(
                                    t0 + i * 120_000L / records,
                                    "hostile",
                                    "svc-" + i,
                                    Telemetry.LogSeverity.Info,
                                    "hello " + i
                                )
                        )
                        .ToList()
            );
        GC.Collect();
        long before = GC.GetTotalMemory(true),
            maxHeap = 0;
        using var sampler = new Timer(
            _ => Interlocked.Exchange(ref maxHeap, Math.Max(Interlocked.Read(ref maxHeap), GC.GetTotalMemory(false))),
            null,
            0,
            20
        );
        var clock = Stopwatch.StartNew();
        var dead = new MemoryDeadLetterSink(capacity: 1000);
        var pipeline = new RcaPipeline(
            new PipelineOptions { Ingest = ingest },
            new Features.Featurizer(new Features.FeaturizerOptions()),
            null,
            null,
            dead
        );
        await pipeline.RunAsync(new ListSource(batches));
        Console.WriteLine(
            $"hostile: {records:N0} log lines, each from a new service, "
                + $"in {clock.Elapsed.TotalSeconds:0.0} s: {pipeline.Decode.RecordsOut:N0} passed, "
                + $"{pipeline.Ingest["limit: services per window"]:N0} refused (dead letters {dead.Total:N0}); managed heap {before / 1048576:N0} MiB before (input generated lazily), "
                + $"max {Interlocked.Read(ref maxHeap) / 1048576:N0} MiB during; "
                + $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576:N0} MiB"
        );
        return 0;
    }
}
