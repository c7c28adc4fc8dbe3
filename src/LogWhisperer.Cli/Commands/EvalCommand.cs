using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using LogWhisperer.Explain;
using LogWhisperer.Runs;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;

namespace LogWhisperer.Cli.Commands;

/// <summary>Scores N simulated incidents from a seed and prints AC@1, AC@3, Avg@5 as a table.</summary>
internal static class EvalCommand
{
    public const int IncidentsPerCluster = 25;

    public static Command Create()
    {
        var topology = CliSupport.TopologyOption();
        var model = CliSupport.ModelOption();
        var device = CliSupport.DeviceOption();
        var seed = CliSupport.SeedOption(7);
        var incidents = new Option<int>("--incidents", "-n") { Description = "Number of incidents to simulate and score", DefaultValueFactory = _ => 200 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };

        var command = new Command("eval", "Evaluate the model on simulated incidents (AC@1, AC@3, Avg@5)") { topology, model, device, seed, incidents, json };
        command.SetAction((parse, ct) => CliSupport.Guard(async () =>
        {
            var clock = Stopwatch.StartNew();
            var topo = CliSupport.LoadTopology(parse.GetValue(topology)!);
            var scorer = CliSupport.LoadScorer(parse.GetValue(model)!, parse.GetValue(device)!);
            int total = parse.GetValue(incidents), evalSeed = parse.GetValue(seed);
            int clusters = (total + IncidentsPerCluster - 1) / IncidentsPerCluster;
            var faults = new List<Fault>[clusters];
            var events = new IReadOnlyList<RcaEvent>[clusters];
            long quiet = 0;
            // Simulated clusters are independent: run them side by side, sharing the scorer.
            await Parallel.ForAsync(0, clusters, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, async (c, token) =>
            {
                var sim = new SimulationOptions { Cluster = $"eval-{evalSeed}-{c}", Seed = evalSeed * 7919 + c };
                int count = Math.Min(IncidentsPerCluster, total - c * IncidentsPerCluster);
                faults[c] = IncidentPlan.Create(topo, count, sim.Seed, sim.StartMs, kinds: CliSupport.KindsOf(scorer));
                var sink = new CollectingRcaSink();
                var pipeline = await new SimulatedRun { Topology = topo, Faults = faults[c], Simulation = sim }.RunAsync(scorer, sink, stop: token, abort: token);
                events[c] = sink.Events;
                Interlocked.Add(ref quiet, pipeline.Counters.QuietWindows);
                Console.Error.WriteLine($"cluster {sim.Cluster}: {count} incidents, {sink.Events.Count} events");
            });
            var reports = Enumerable.Range(0, clusters).Select(c => EvaluationReport.Score(faults[c], events[c], 0)).ToArray();
            var report = new EvaluationReport(reports.SelectMany(r => r.Incidents).ToArray(), reports.Sum(r => r.FalseAlarms), (int)quiet);
            Console.WriteLine($"eval: {topo.Name}, {total} incidents, seed {evalSeed}, model {Path.GetFileName(parse.GetValue(model))}");
            Console.WriteLine();
            Console.WriteLine(report.ToTable());
            Console.WriteLine($"({clock.Elapsed.TotalSeconds:0} s)");
            if (parse.GetValue(json) is { } path)
                await File.WriteAllTextAsync(path, JsonSerializer.Serialize(new
                {
                    topology = topo.Name, seed = evalSeed, incidents = total,
                    ac1 = report.AccuracyAt(1), ac3 = report.AccuracyAt(3), avg5 = report.Avg5,
                    detectionRate = report.DetectionRate, faultKindAccuracy = report.FaultKindAccuracy, falseAlarms = report.FalseAlarms,
                    results = report.Incidents.Select(r => new { r.Fault.Service, Kind = r.Fault.Kind.ToString(), r.Fault.StartMs, r.Rank, top = r.FirstEvent?.Candidates[0].Service }),
                }, new JsonSerializerOptions { WriteIndented = true }), ct);
            return 0;
        }));
        return command;
    }
}
