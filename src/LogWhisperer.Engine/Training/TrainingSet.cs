using LogWhisperer.Graph;
using LogWhisperer.Hosting;
using LogWhisperer.Pipeline;
using LogWhisperer.Simulation;

namespace LogWhisperer.Training;

/// <summary>
/// Labelled snapshots for training, made by running simulated clusters (each its own seed and incident
/// plan) through the pipeline up to the graph stage. Ambiguous windows (grazing a fault, or just after one)
/// are left out. Clusters alternate between busy and quiet meshes (see <see cref="Conditions"/>), so the model
/// learns what a fault looks like both at hundreds of requests per second and at a few per window.
/// </summary>
public static class TrainingSet
{
    public static async Task<List<GraphSnapshot>> GenerateAsync(
        IReadOnlyList<Topology> topologies,
        int clustersPerTopology,
        int incidentsPerCluster,
        int seed,
        PipelineOptions? pipeline = null,
        IProgress<string>? progress = null,
        CancellationToken cancellationToken = default
    )
    {
        var jobs = topologies
            .SelectMany(
                (t, ti) =>
                    Enumerable
                        .Range(0, clustersPerTopology)
                        .Select(c => (Topology: t, Cluster: c, Seed: seed * 1000 + ti * 100 + c))
            )
            .ToArray();
        var results = new List<GraphSnapshot>[jobs.Length];
        await Parallel.ForAsync(
            0,
            jobs.Length,
            new ParallelOptions
            {
                MaxDegreeOfParallelism = Environment.ProcessorCount,
                CancellationToken = cancellationToken,
            },
            async (i, ct) =>
            {
                var (topology, cluster, clusterSeed) = jobs[i];
                var sim = Conditions(
                    new SimulationOptions
                    {
                        Cluster = $"{topology.Name}-{clusterSeed}",
                        Seed = clusterSeed,
                        NoisyServiceShare = NoisyServiceShare,
                        JitteryServiceShare = JitteryServiceShare,
                        LatencyTailShare = LatencyTailShare,
                        PeerNamingShare = PeerNamingShare,
                        MaxBackgroundErrorRate = MaxBackgroundErrorRate,
                        SteadyLoggingShare = SteadyLoggingShare,
                    },
                    quiet: cluster % 2 == 1
                );
                var faults = IncidentPlan.Create(topology, incidentsPerCluster, clusterSeed, sim.StartMs);
                var collected = new List<GraphSnapshot>();
                var run = new SimulatedRun
                {
                    Topology = topology,
                    Faults = faults,
                    Simulation = sim,
                    Pipeline = pipeline ?? new PipelineOptions(),
                };
                await run.RunAsync(
                    scorer: null,
                    sink: null,
                    label: true,
                    onSnapshot: s =>
                    {
                        if (s.Label is not null)
                            collected.Add(s);
                    },
                    stop: ct,
                    abort: ct
                );
                results[i] = collected;
                progress?.Report(
                    $"simulated {sim.Cluster}: {faults.Count} incidents, {collected.Count} labelled windows"
                );
            }
        );
        return results.SelectMany(r => r).ToList();
    }

    /// <summary>
    /// Operating conditions of one simulated cluster. Real meshes are not all busy: Nezha's Train-Ticket serves
    /// a few requests per service per window and is scraped once a minute, where ratios and medians are noisy
    /// and counts are small. Quiet clusters run at 2–20 % of the topology's load with 60 s scrapes; busy ones
    /// at 50–150 % with 5 s scrapes. Drawn from the cluster's own seed, so a training set stays reproducible.
    /// </summary>
    /// <summary>Services that chatter in training clusters
    /// (<see cref="SimulationOptions.NoisyServiceShare"/>).</summary>
    public const double NoisyServiceShare = 0.3;

    /// <summary>Services with latency weather of their own in training clusters
    /// (<see cref="SimulationOptions.JitteryServiceShare"/>).</summary>
    public const double JitteryServiceShare = 0.3;

    /// <summary>Requests in the latency tail in training clusters
    /// (<see cref="SimulationOptions.LatencyTailShare"/>).</summary>
    public const double LatencyTailShare = 0.03;

    /// <summary>Services whose failure lines name the failing peer in training clusters
    /// (<see cref="SimulationOptions.PeerNamingShare"/>).</summary>
    public const double PeerNamingShare = 0.5;

    /// <summary>Healthy services' own failure share in training clusters, up to
    /// (<see cref="SimulationOptions.MaxBackgroundErrorRate"/>).</summary>
    public const double MaxBackgroundErrorRate = 0.02;

    /// <summary>Services that log every request they serve in training clusters
    /// (<see cref="SimulationOptions.SteadyLoggingShare"/>).</summary>
    public const double SteadyLoggingShare = 0.8;

    public static SimulationOptions Conditions(SimulationOptions sim, bool quiet)
    {
        var rng = new Random(sim.Seed ^ 0x5eed);
        // Quiet clusters are also instrumented the way Nezha's Train-Ticket is: spans without error status, and
        // half of them without client spans (edges read from server spans nested across services).
        // How much a service logs per request varies between meshes (an access line per request in many Java
        // services; a sampled line in others): it decides how visible a silent root's missing lines are.
        sim = sim with
        {
            InfoLogSampling = 0.3 + 0.7 * rng.NextDouble(),
        };
        return quiet
            ? sim with
            {
                LoadFactor = 0.02 + 0.18 * rng.NextDouble(),
                ScrapeIntervalMs = 60_000,
                SpanStatus = false,
                ClientSpans = rng.NextDouble() < 0.5,
            }
            : sim with
            {
                LoadFactor = 0.5 + rng.NextDouble(),
                ScrapeIntervalMs = 5_000,
            };
    }
}
