using LogWhisperer.Graph;
using LogWhisperer.Pipeline;
using LogWhisperer.Simulation;

namespace LogWhisperer.Runs;

/// <summary>
/// Labelled snapshots for training, made by running simulated clusters (each its own seed and incident
/// plan) through the pipeline up to the graph stage. Ambiguous windows (grazing a fault, or just after one)
/// are left out.
/// </summary>
public static class TrainingSet
{
    public static async Task<List<GraphSnapshot>> GenerateAsync(IReadOnlyList<Topology> topologies, int clustersPerTopology, int incidentsPerCluster,
        int seed, PipelineOptions? pipeline = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var jobs = topologies.SelectMany((t, ti) => Enumerable.Range(0, clustersPerTopology).Select(c => (Topology: t, Seed: seed * 1000 + ti * 100 + c))).ToArray();
        var results = new List<GraphSnapshot>[jobs.Length];
        await Parallel.ForAsync(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var (topology, clusterSeed) = jobs[i];
            var sim = new SimulationOptions { Cluster = $"{topology.Name}-{clusterSeed}", Seed = clusterSeed };
            var faults = IncidentPlan.Create(topology, incidentsPerCluster, clusterSeed, sim.StartMs);
            var collected = new List<GraphSnapshot>();
            var run = new SimulatedRun { Topology = topology, Faults = faults, Simulation = sim, Pipeline = pipeline ?? new PipelineOptions() };
            await run.RunAsync(scorer: null, sink: null, label: true, onSnapshot: s => { if (s.Label is not null) collected.Add(s); }, stop: ct, abort: ct);
            results[i] = collected;
            progress?.Report($"simulated {sim.Cluster}: {faults.Count} incidents, {collected.Count} labelled windows");
        });
        return results.SelectMany(r => r).ToList();
    }
}
