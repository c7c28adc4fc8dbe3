using System.Diagnostics;
using LogWhisperer.Hosting;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using static TorchSharp.torch;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// `soak [services] [minutes]`: memory over a long stream. A generated mesh runs live through the whole pipeline
/// (scoring with the shipped model) for that many simulated minutes, as fast as it goes; after every scored
/// window the resident set and the managed heap are sampled. Prints a line per simulated 10 minutes and the
/// first and last thirds side by side: a stream that runs for weeks must not grow with time.
/// </summary>
public static class Soak
{
    public static async Task<int> RunAsync(string[] args)
    {
        int services = args.Length > 0 ? int.Parse(args[0]) : 1000;
        int minutes = args.Length > 1 ? int.Parse(args[1]) : 120;
        var topology = SyntheticTopology.Generate(services, seed: 1, requestsPerSecond: 200);
        var sim = new SimulationOptions { Cluster = "soak", Seed = 1 };
        var faults = IncidentPlan.Create(topology, Math.Max(1, minutes / 8), 1, sim.StartMs);
        var scorer = EndToEnd.ShippedScorer(CPU);
        var samples = new List<(double Minute, double RssMiB, double HeapMiB)>();
        var clock = Stopwatch.StartNew();
        double nextReport = 0;
        Console.WriteLine($"soak: {services} services, {minutes} simulated minutes, {faults.Count} faults");
        // The first minutes are warm-up windows (not scored, so not sampled above): a wall-clock sampler shows when the
        // peak comes, and catches the highest resident set between scored windows too.
        (double Wall, double RssMiB, int Scored) highest = (0, 0, 0);
        using var sampler = new Timer(
            _ =>
            {
                using var self = Process.GetCurrentProcess();
                double rss = self.WorkingSet64 / 1048576.0;
                lock (samples)
                    if (rss > highest.RssMiB)
                        highest = (clock.Elapsed.TotalSeconds, rss, samples.Count);
                int wall = (int)clock.Elapsed.TotalSeconds;
                if (wall <= 60 ? wall % 5 == 0 : wall % 30 == 0)
                    Console.WriteLine(
                        $"  wall {wall, 4} s  RSS {rss, 7:N0} MiB  managed heap "
                            + $"{GC.GetTotalMemory(false) / 1048576.0, 7:N0} MiB  {samples.Count} window(s) scored"
                    );
            },
            null,
            TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(1)
        );
        var run = new SimulatedRun
        {
            Topology = topology,
            Faults = faults,
            Simulation = sim,
            EndMs = sim.StartMs + minutes * 60_000L,
        };
        var pipeline = await run.RunAsync(
            scorer,
            new CollectingRcaSink(),
            onScored: s =>
            {
                double minute = (s.Snapshot.WindowEndMs - sim.StartMs) / 60_000.0;
                using var self = Process.GetCurrentProcess();
                lock (samples)
                    samples.Add((minute, self.WorkingSet64 / 1048576.0, GC.GetTotalMemory(false) / 1048576.0));
                if (minute < nextReport)
                    return;
                nextReport += 10;
                var gc = GC.GetGCMemoryInfo();
                Console.WriteLine(
                    $"  minute {minute, 5:0}  wall {clock.Elapsed.TotalSeconds, 6:0} s  RSS "
                        + $"{samples[^1].RssMiB, 7:N0} MiB  managed heap {samples[^1].HeapMiB, 7:N0} MiB"
                        + $"  GC committed {gc.TotalCommittedBytes / 1048576.0, 7:N0} "
                        + $"MiB (fragmented {gc.FragmentedBytes / 1048576.0:N0}) "
                        + $" outside the GC {samples[^1].RssMiB - gc.TotalCommittedBytes / 1048576.0, 7:N0} "
                        + $"MiB  gen2 GCs {GC.CollectionCount(2)}"
                );
            }
        );
        int third = samples.Count / 3;
        if (third == 0)
        {
            Console.WriteLine("too short to compare");
            return 1;
        }
        var (first, last) = (samples.Take(third).ToList(), samples.Skip(samples.Count - third).ToList());
        string Stats(List<(double Minute, double RssMiB, double HeapMiB)> part) =>
            $"minutes {part[0].Minute:0}–{part[^1].Minute:0}: "
            + $"RSS mean {part.Average(p => p.RssMiB):N0} max {part.Max(p => p.RssMiB):N0} MiB, "
            + $"heap mean {part.Average(p => p.HeapMiB):N0} max {part.Max(p => p.HeapMiB):N0} MiB";
        Console.WriteLine($"first third {Stats(first)}");
        Console.WriteLine($"last third  {Stats(last)}");
        // A mesh that outgrows the ingest limits sheds or refuses records (counted, not silent): a soak that lost part
        // of its stream that way would look lighter than it is.
        Console.WriteLine(
            $"records shed or refused: {(pipeline.Ingest.Snapshot().Count == 0 ? "none" : pipeline.Ingest)}; "
                + $"{pipeline.Counters.Invalid:N0} invalid, {pipeline.Counters.LateDropped:N0} late-dropped"
        );
        Console.WriteLine(
            $"highest RSS sampled each second: {highest.RssMiB:N0} MiB at wall {highest.Wall:0} s, "
                + $"{highest.Scored} window(s) scored by then"
        );
        Console.WriteLine(
            $"last/first RSS mean {last.Average(p => p.RssMiB) / first.Average(p => p.RssMiB):0.00}, "
                + $"heap mean {last.Average(p => p.HeapMiB) / first.Average(p => p.HeapMiB):0.00}; "
                + $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576:N0} MiB; "
                + $"{pipeline.Decode.RecordsIn:N0} records in {clock.Elapsed.TotalSeconds:0} s"
        );
        return 0;
    }
}
