using System.Diagnostics;
using LogWhisperer.Features;
using LogWhisperer.Hosting;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Telemetry;
using static TorchSharp.torch;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// End-to-end throughput of the embedded pipeline on a synthetic mesh: records/s through every stage
/// (decode → window → featurize → graph → score → explain → sink), with telemetry generated up front so
/// the figure is the engine's, then the same with the simulator generating live. Reports allocation and
/// peak working set.
/// </summary>
public static class EndToEnd
{
    public static async Task<int> RunAsync(string[] args)
    {
        int services = args.Length > 0 ? int.Parse(args[0]) : 50;
        int minutes = args.Length > 1 ? int.Parse(args[1]) : 10;
        double speed = args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0;
        var topology = SyntheticTopology.Generate(services, seed: 1, requestsPerSecond: 200);
        var sim = new SimulationOptions { Cluster = "bench", Seed = 1 };
        long end = sim.StartMs + minutes * 60_000L;
        var faults = IncidentPlan.Create(topology, Math.Max(1, minutes / 8), 1, sim.StartMs);
        // LW_DEVICE=cpu compares on a GPU machine
        var device = ComputeDevice.Select(Environment.GetEnvironmentVariable("LW_DEVICE") ?? "auto");
        var scorer = ShippedScorer(device);

        Console.WriteLine(
            $"mesh: {services} services, {topology.Services.Sum(s => s.Value.Operations.Count)} operations, "
                + $"200 req/s, {minutes} simulated minutes, scoring on {ComputeDevice.Describe(scorer.Device)}"
        );

        // 1. Generate the telemetry first, to time the pipeline alone.
        var clock = Stopwatch.StartNew();
        var simulator = new ChaosSimulator(topology, sim, faults);
        var batches = simulator.RunUntil(end).Select(b => (IReadOnlyList<TelemetryRecord>)b).ToList();
        long records = batches.Sum(b => (long)b.Count);
        var simulated = clock.Elapsed;
        Console.WriteLine(
            $"simulator: {records:N0} records in {simulated.TotalSeconds:0.00} "
                + $"s = {records / simulated.TotalSeconds:N0} records/s, "
                + $"{minutes * 60 / simulated.TotalSeconds:0}x real time"
        );

        GC.Collect();
        long allocatedBefore = GC.GetTotalAllocatedBytes(true);
        clock.Restart();
        var pipeline = new RcaPipeline(
            new PipelineOptions(),
            new Featurizer(new FeaturizerOptions(), topology.ServiceNames, topology.DeclaredEdges()),
            scorer,
            new CollectingRcaSink(),
            new MemoryDeadLetterSink()
        );
        await pipeline.RunAsync(new ListSource(batches));
        var elapsed = clock.Elapsed;
        long allocated = GC.GetTotalAllocatedBytes(true) - allocatedBefore;
        Console.WriteLine(
            $"pipeline : {records:N0} records in {elapsed.TotalSeconds:0.00} "
                + $"s = {records / elapsed.TotalSeconds:N0} records/s; "
                + $"allocated {allocated / records:N0} B/record; "
                + $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576:N0} MiB"
        );
        foreach (var stage in pipeline.Stages)
            Console.WriteLine(
                $"  {stage}   "
                    + $"({(stage.Busy.TotalSeconds > 0 ? stage.RecordsIn / stage.Busy.TotalSeconds : 0):N0}/s busy)"
            );
        Console.WriteLine(
            "  window close → done (queueing included: "
                + $"the input is read as fast as it goes): {Latency(pipeline.Latency)}"
        );

        // 2. Simulator feeding the pipeline live (what `demo` does).
        batches.Clear();
        GC.Collect();
        clock.Restart();
        var run = new SimulatedRun
        {
            Topology = topology,
            Faults = faults,
            Simulation = sim,
            EndMs = end,
        };
        var live = await run.RunAsync(scorer, new CollectingRcaSink());
        Console.WriteLine(
            $"live     : {live.Decode.RecordsIn:N0} records in {clock.Elapsed.TotalSeconds:0.00} s = "
                + $"{live.Decode.RecordsIn / clock.Elapsed.TotalSeconds:N0} records/s (simulator + pipeline)"
        );

        // 3. Paced at `speed` times real time (the third argument), so windows close at a steady cadence as on a live
        // mesh: window close → done is then the engine's processing time, not a replay's queue.
        if (speed > 0)
        {
            GC.Collect();
            clock.Restart();
            var paced = await new SimulatedRun
            {
                Topology = topology,
                Faults = faults,
                Simulation = sim,
                EndMs = end,
                Speed = speed,
            }.RunAsync(scorer, new CollectingRcaSink());
            Console.WriteLine(
                $"paced    : {speed}x real time ({30 / speed:0.#} s per 30 s window), "
                    + $"{clock.Elapsed.TotalSeconds:0.0} s; window close → done: {Latency(paced.Latency)}"
            );
        }
        return 0;
    }

    internal static string Latency(WindowLatency l) =>
        $"{l.Count.All} windows p50 {l.Quantile(0.5) * 1000:N0} ms p99 {l.Quantile(0.99) * 1000:N0} ms; "
        + $"{l.Count.WithEvent} with an event p50 {l.Quantile(0.5, true) * 1000:N0} "
        + $"ms p99 {l.Quantile(0.99, true) * 1000:N0} ms";

    /// <summary>A scorer with the shipped model (random weights where the repository is not found).</summary>
    internal static GatScorer ShippedScorer(Device device) =>
        new(ShippedModelPath() is { } shipped ? GatModel.Load(shipped, device) : new GatModel(new GatConfig()), device);

    /// <summary>The repository's shipped model, so the explain and sink stages see real events.</summary>
    internal static string? ShippedModelPath()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "src", "LogWhisperer.Cli", "models", "gat-default.lwm");
                if (File.Exists(candidate))
                    return candidate;
            }
        return null;
    }
}
