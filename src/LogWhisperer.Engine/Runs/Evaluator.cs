using LogWhisperer.Explain;
using LogWhisperer.Graph;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;

namespace LogWhisperer.Runs;

/// <summary>One incident as each ranker saw it: the rank it gave the true root service on the same window.</summary>
public sealed record RankedIncident(Fault Fault, long WindowStartMs, bool Alarmed, int[] Ranks);

/// <summary>
/// Side-by-side ranking accuracy of several methods on the same windows. For each incident the window is the
/// engine's alarm (its first window over the incident threshold during the fault) or, when it raised none,
/// the first window mostly inside the fault, so every method ranks exactly the same evidence.
/// </summary>
public sealed record RankingReport(IReadOnlyList<string> Methods, IReadOnlyList<RankedIncident> Incidents)
{
    public double AccuracyAt(int method, int k, IEnumerable<RankedIncident>? subset = null)
    {
        var list = (subset ?? Incidents).ToArray();
        return list.Length == 0 ? 0 : (double)list.Count(r => r.Ranks[method] <= k) / list.Length;
    }

    public double Avg5(int method) => Enumerable.Range(1, 5).Average(k => AccuracyAt(method, k));
    public double Mrr(int method) => Incidents.Count == 0 ? 0 : Incidents.Average(r => 1.0 / r.Ranks[method]);
}

public sealed record EvaluationResult(EvaluationReport Engine, RankingReport Ranking);

/// <summary>
/// Simulates incidents (clusters of <see cref="IncidentsPerCluster"/> in parallel), runs the engine over
/// them, and ranks each incident's window with the engine's model and every baseline.
/// </summary>
/// <param name="kinds">Fault kinds to draw incidents from (default: all).</param>
/// <param name="degradation">Spoils the telemetry before the engine sees it (accuracy under degraded input).</param>
public sealed class Evaluator(Topology topology, GatScorer engine, IReadOnlyList<IRootCauseRanker> baselines, double incidentThreshold = 0.5,
    IReadOnlyList<FaultKind>? kinds = null, Degradation? degradation = null)
{
    public const int IncidentsPerCluster = 25;

    public async Task<EvaluationResult> RunAsync(int incidents, int seed, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        int clusters = (incidents + IncidentsPerCluster - 1) / IncidentsPerCluster;
        var faults = new List<Fault>[clusters];
        var events = new IReadOnlyList<RcaEvent>[clusters];
        var scored = new List<ScoredSnapshot>[clusters];
        long quiet = 0;
        await Parallel.ForAsync(0, clusters, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken }, async (c, ct) =>
        {
            var sim = new SimulationOptions { Cluster = $"eval-{seed}-{c}", Seed = seed * 7919 + c };
            faults[c] = IncidentPlan.Create(topology, Math.Min(IncidentsPerCluster, incidents - c * IncidentsPerCluster), sim.Seed, sim.StartMs, kinds: kinds);
            var sink = new CollectingRcaSink();
            var seen = new List<ScoredSnapshot>();
            var pipeline = await new SimulatedRun { Topology = topology, Faults = faults[c], Simulation = sim, Degradation = degradation ?? Degradation.None }
                .RunAsync(engine, sink, stop: ct, abort: ct, onScored: seen.Add);
            events[c] = sink.Events; scored[c] = seen;
            Interlocked.Add(ref quiet, pipeline.Counters.QuietWindows);
            progress?.Report($"cluster {sim.Cluster}: {faults[c].Count} incidents, {sink.Events.Count} events");
        });

        var reports = Enumerable.Range(0, clusters).Select(c => EvaluationReport.Score(faults[c], events[c], 0)).ToArray();
        var engineReport = new EvaluationReport(reports.SelectMany(r => r.Incidents).ToArray(), reports.Sum(r => r.FalseAlarms), (int)quiet);

        // The window each incident is judged on, then every method ranks the same windows in one batch.
        var chosen = new List<(Fault Fault, ScoredSnapshot Window, bool Alarmed)>();
        for (int c = 0; c < clusters; c++)
            foreach (var f in faults[c])
            {
                if (IncidentWindow(scored[c], f, incidentThreshold) is { } w) chosen.Add((f, w.Window, w.Alarmed));
            }
        return new EvaluationResult(engineReport, RankSideBySide(chosen, baselines));
    }

    /// <summary>The window an incident is judged on: the engine's first alarm during it, else the first window mostly inside it.</summary>
    public static (ScoredSnapshot Window, bool Alarmed)? IncidentWindow(IEnumerable<ScoredSnapshot> scored, Fault f, double threshold)
    {
        var overlapping = scored.Where(s => s.Snapshot.WindowEndMs > f.StartMs && s.Snapshot.WindowStartMs < f.EndMs).OrderBy(s => s.Snapshot.WindowStartMs).ToArray();
        var alarm = overlapping.FirstOrDefault(s => s.IncidentProbability >= threshold);
        var window = alarm ?? overlapping.FirstOrDefault(s => Math.Min(s.Snapshot.WindowEndMs, f.EndMs) - Math.Max(s.Snapshot.WindowStartMs, f.StartMs) >= (s.Snapshot.WindowEndMs - s.Snapshot.WindowStartMs) / 2);
        return window is null ? null : (window, alarm is not null);
    }

    /// <summary>The engine's ranking of each chosen window beside every other method's ranking of the same window.</summary>
    public static RankingReport RankSideBySide(IReadOnlyList<(Fault Fault, ScoredSnapshot Window, bool Alarmed)> chosen, IReadOnlyList<IRootCauseRanker> others, string engineName = "LogWhisperer GAT")
    {
        var snapshots = chosen.Select(x => x.Window.Snapshot).ToArray();
        var methods = new List<(string Name, float[][] Scores)> { (engineName, chosen.Select(x => x.Window.RootProbability).ToArray()) };
        foreach (var b in others) methods.Add((b.Name, Rank(b, snapshots)));
        var ranked = chosen.Select((x, i) => new RankedIncident(x.Fault, x.Window.Snapshot.WindowStartMs, x.Alarmed,
            methods.Select(m => RankOf(x.Window.Snapshot, m.Scores[i], x.Fault.Service)).ToArray())).ToArray();
        return new RankingReport(methods.Select(m => m.Name).ToArray(), ranked);
    }

    private static float[][] Rank(IRootCauseRanker ranker, GraphSnapshot[] snapshots) =>
        snapshots.Chunk(128).SelectMany(ranker.Rank).ToArray();

    /// <summary>1-based rank of the true root (ties broken by node order, as the engine's ranking does); N+1 if absent.</summary>
    internal static int RankOf(GraphSnapshot snapshot, float[] scores, string root)
    {
        int r = snapshot.IndexOf(root);
        if (r < 0) return scores.Length + 1;
        int rank = 1;
        for (int i = 0; i < scores.Length; i++) if (scores[i] > scores[r] || (scores[i] == scores[r] && i < r)) rank++;
        return rank;
    }
}
