using LogWhisperer.Changes;
using LogWhisperer.Explain;
using LogWhisperer.Graph;
using LogWhisperer.Hosting;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;

namespace LogWhisperer.Evaluation;

/// <summary>One incident as each ranker saw it: the rank it gave the true root service on the same window.</summary>
public sealed record RankedIncident(Fault Fault, long WindowStartMs, bool Alarmed, int[] Ranks);

/// <summary>
/// Side-by-side ranking accuracy of several methods on the same windows. For each incident the judged windows
/// start at the engine's alarm (its first window over the incident threshold during the fault) or, when it
/// raised none, at the first window mostly inside the fault, and run for up to <see cref="IncidentJudgement.Windows"/>
/// windows of the fault; every method ranks exactly the same evidence.
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

public sealed record EvaluationResult(EvaluationReport Engine, RankingReport Ranking)
{
    /// <summary>How the engine tied incidents to changes (null when changes were withheld).</summary>
    public ChangeReport? Changes { get; init; }

    /// <summary>
    /// With changes withheld: the likelihood ratio and model weight that best separate the true roots on these windows
    /// (<see cref="ChangeCorrelator.Fit"/>).
    /// </summary>
    public double[]? FittedChangeRatios { get; init; }
}

/// <summary>
/// Whether RCA events named the right change: for each change-caused incident (BadDeploy, ConfigChange) whether
/// the first event's <c>change</c> is the guilty rollout or configuration change, and how many events named a
/// change that caused nothing (a benign one).
/// </summary>
public sealed record ChangeReport(int ChangeCaused, int NamedGuilty, int Events, int EventsWithChange, int NamedBenign)
{
    public string ToLine() =>
        FormattableString.Invariant(
            $"changes: the first event named the guilty change in {NamedGuilty} of {ChangeCaused} change-caused incidents; {EventsWithChange} of {Events} events named a change, {NamedBenign} of them a benign one"
        );

    public static ChangeReport Score(
        IReadOnlyList<Fault> faults,
        IReadOnlyList<RcaEvent> events,
        EvaluationReport engine
    )
    {
        bool Guilty(RcaChange c, Fault f) =>
            c.Service == f.Service
            && c.Kind == (f.Kind == FaultKind.BadDeploy ? "rollout" : "config")
            && c.StartedAt.ToUnixTimeMilliseconds() is var t
            && t <= f.StartMs
            && t >= f.StartMs - 60_000;
        var changeCaused = engine
            .Incidents.Where(r => r.Fault.Kind is FaultKind.BadDeploy or FaultKind.ConfigChange)
            .ToList();
        int named = changeCaused.Count(r => r.FirstEvent?.Change is { } c && Guilty(c, r.Fault));
        var withChange = events.Where(e => e.Change is not null).ToList();
        int benign = withChange.Count(e =>
            !faults.Any(f => f.Kind is FaultKind.BadDeploy or FaultKind.ConfigChange && Guilty(e.Change!, f))
        );
        return new ChangeReport(changeCaused.Count, named, events.Count, withChange.Count, benign);
    }
}

/// <summary>
/// Simulates incidents (clusters of <see cref="IncidentsPerCluster"/> in parallel), runs the engine over
/// them, and ranks each incident's window with the engine's model and every baseline.
/// </summary>
/// <param name="kinds">Fault kinds to draw incidents from (default: all).</param>
/// <param name="degradation">Spoils the telemetry before the engine sees it (accuracy under degraded input).</param>
/// <param name="meshMetrics">The simulated mesh also exports the Istio request metrics (with logs and traces degraded
/// away: a metrics-only mesh).</param>
/// <param name="changes">Hand the simulator's changes (rollouts, config changes) to the engine's change-correlation
/// stage; false withholds them.</param>
/// <param name="judgement">How many of each incident's windows every method is judged on.</param>
public sealed class Evaluator(
    Topology topology,
    GatScorer engine,
    IReadOnlyList<IRootCauseRanker> baselines,
    double incidentThreshold = 0.5,
    IReadOnlyList<FaultKind>? kinds = null,
    Degradation? degradation = null,
    bool changes = true,
    ChangeCorrelationOptions? changeCorrelation = null,
    bool meshMetrics = false,
    IncidentJudgement? judgement = null
)
{
    private readonly IncidentJudgement judgement = judgement ?? new();

    public const int IncidentsPerCluster = 25;

    public async Task<EvaluationResult> RunAsync(
        int incidents,
        int seed,
        IProgress<string>? progress = null,
        CancellationToken cancellationToken = default
    )
    {
        int clusters = (incidents + IncidentsPerCluster - 1) / IncidentsPerCluster;
        var faults = new List<Fault>[clusters];
        var events = new IReadOnlyList<RcaEvent>[clusters];
        var scored = new List<ScoredSnapshot>[clusters];
        var simulated = new IReadOnlyList<ChangeEvent>[clusters];
        long quiet = 0;
        await Parallel.ForAsync(
            0,
            clusters,
            new ParallelOptions
            {
                MaxDegreeOfParallelism = Environment.ProcessorCount,
                CancellationToken = cancellationToken,
            },
            async (c, ct) =>
            {
                var sim = new SimulationOptions
                {
                    Cluster = $"eval-{seed}-{c}",
                    Seed = seed * 7919 + c,
                    IstioMetrics = meshMetrics,
                };
                faults[c] = IncidentPlan.Create(
                    topology,
                    Math.Min(IncidentsPerCluster, incidents - c * IncidentsPerCluster),
                    sim.Seed,
                    sim.StartMs,
                    kinds: kinds
                );
                var sink = new CollectingRcaSink();
                var seen = new List<ScoredSnapshot>();
                var run = new SimulatedRun
                {
                    Topology = topology,
                    Faults = faults[c],
                    Simulation = sim,
                    Degradation = degradation ?? Degradation.None,
                    Pipeline = new PipelineOptions
                    {
                        Changes = changes ? new ChangeLog() : null,
                        ChangeCorrelation = changeCorrelation ?? new(),
                    },
                };
                var pipeline = await run.RunAsync(engine, sink, stop: ct, abort: ct, onScored: seen.Add);
                events[c] = sink.Events;
                scored[c] = seen;
                simulated[c] = run.Simulator!.Changes.ToList();
                Interlocked.Add(ref quiet, pipeline.Counters.QuietWindows);
                progress?.Report($"cluster {sim.Cluster}: {faults[c].Count} incidents, {sink.Events.Count} events");
            }
        );

        var reports = Enumerable
            .Range(0, clusters)
            .Select(c => EvaluationReport.Score(faults[c], events[c], 0))
            .ToArray();
        var engineReport = new EvaluationReport(
            reports.SelectMany(r => r.Incidents).ToArray(),
            reports.Sum(r => r.FalseAlarms),
            (int)quiet
        );

        // The windows each incident is judged on, then every method ranks the same windows in one batch.
        var chosen = new List<JudgedIncident>();
        var calibration = new List<(float[] Probability, int[] Bin, int Root)>();
        var correlation = changeCorrelation ?? new ChangeCorrelationOptions();
        for (int c = 0; c < clusters; c++)
        {
            var log = new ChangeLog();
            log.AddRange(simulated[c]);
            foreach (var f in faults[c])
            {
                if (IncidentWindows(scored[c], f, incidentThreshold, judgement.Windows) is not { } judged)
                    continue;
                chosen.Add(judged);
                var first = judged.Windows[0];
                var s = first.Snapshot;
                // The window's start stands for the onset (the first alarmed window when the engine alarmed).
                var latest = ChangeCorrelator.LatestChanges(
                    log,
                    s.Cluster,
                    s.WindowStartMs,
                    s.WindowEndMs,
                    correlation
                );
                if (s.IndexOf(f.Service) is var root and >= 0)
                    calibration.Add(
                        (first.RootProbability, ChangeCorrelator.Bins(s, latest, s.WindowStartMs, correlation), root)
                    );
            }
        }
        return new EvaluationResult(engineReport, RankSideBySide(chosen, baselines))
        {
            Changes = changes
                ? ChangeReport.Score(
                    faults.SelectMany(f => f).ToList(),
                    events.SelectMany(e => e).ToList(),
                    engineReport
                )
                : null,
            FittedChangeRatios = changes ? null : ChangeCorrelator.Fit(calibration, correlation.BinSeconds.Length),
        };
    }

    /// <summary>
    /// The windows an incident is judged on: from the engine's first alarm during it (else the first window mostly
    /// inside it) on, at most <paramref name="windows"/> windows that overlap the fault.
    /// </summary>
    public static JudgedIncident? IncidentWindows(
        IEnumerable<ScoredSnapshot> scored,
        Fault f,
        double threshold,
        int windows
    )
    {
        var overlapping = scored
            .Where(s => s.Snapshot.WindowEndMs > f.StartMs && s.Snapshot.WindowStartMs < f.EndMs)
            .OrderBy(s => s.Snapshot.WindowStartMs)
            .ToArray();
        int alarm = Array.FindIndex(overlapping, s => s.IncidentProbability >= threshold);
        int first =
            alarm >= 0
                ? alarm
                : Array.FindIndex(
                    overlapping,
                    s =>
                        Math.Min(s.Snapshot.WindowEndMs, f.EndMs) - Math.Max(s.Snapshot.WindowStartMs, f.StartMs)
                        >= (s.Snapshot.WindowEndMs - s.Snapshot.WindowStartMs) / 2
                );
        return first < 0
            ? null
            : new JudgedIncident(f, overlapping.Skip(first).Take(Math.Max(1, windows)).ToArray(), alarm >= 0);
    }

    /// <summary>The engine's ranking of each incident's windows beside every other method's ranking of the same
    /// windows.</summary>
    public static RankingReport RankSideBySide(
        IReadOnlyList<JudgedIncident> chosen,
        IReadOnlyList<IRootCauseRanker> others,
        string engineName = "LogWhisperer GAT"
    )
    {
        var snapshots = chosen.SelectMany(x => x.Windows).Select(w => w.Snapshot).ToArray();
        var methods = new List<(string Name, float[][] Scores)>
        {
            (engineName, chosen.SelectMany(x => x.Windows).Select(w => w.RootProbability).ToArray()),
        };
        foreach (var b in others)
            methods.Add((b.Name, Rank(b, snapshots)));
        var ranked = new RankedIncident[chosen.Count];
        for (int i = 0, at = 0; i < chosen.Count; at += chosen[i].Windows.Count, i++)
        {
            var x = chosen[i];
            int from = at;
            ranked[i] = new RankedIncident(
                x.Fault,
                x.Windows[0].Snapshot.WindowStartMs,
                x.Alarmed,
                methods.Select(m => x.RankOf(m.Scores.AsSpan(from, x.Windows.Count).ToArray())).ToArray()
            );
        }
        return new RankingReport(methods.Select(m => m.Name).ToArray(), ranked);
    }

    private static float[][] Rank(IRootCauseRanker ranker, GraphSnapshot[] snapshots) =>
        snapshots.Chunk(128).SelectMany(ranker.Rank).ToArray();

    /// <summary>1-based rank of the true root (ties broken by node order, as the engine's ranking does); N+1 if
    /// absent.</summary>
    internal static int RankOf(GraphSnapshot snapshot, float[] scores, string root) =>
        Rank(scores, snapshot.IndexOf(root));

    /// <summary>1-based rank of <paramref name="scores"/>[<paramref name="root"/>], ties broken by position; N+1 when
    /// root is -1 (absent).</summary>
    internal static int Rank(IReadOnlyList<float> scores, int root)
    {
        if (root < 0)
            return scores.Count + 1;
        int rank = 1;
        for (int i = 0; i < scores.Count; i++)
            if (scores[i] > scores[root] || (scores[i] == scores[root] && i < root))
                rank++;
        return rank;
    }
}

/// <summary>How an incident is judged: on how many of its windows (the verdict of the incident as it stands after
/// them).</summary>
/// <param name="Windows"> 4 windows (2 minutes of 30 s windows) by default: long enough for a service that handles a
/// few requests per window to show its errors, as on-call people read an incident a couple of minutes in; 1 judges the
/// first alarm alone.
/// </param>
public sealed record IncidentJudgement(int Windows = 4);

/// <summary>
/// An incident as it is judged: the fault and the engine's windows of it (<see cref="Evaluator.IncidentWindows"/>).
/// A method's verdict on it is its scores summed per service over the windows — how the incident tracker
/// settles an incident's root (<see cref="Sinks.IncidentTracker"/>): evidence of a few requests per window
/// adds up, and one noisy window does not decide.
/// </summary>
public sealed record JudgedIncident(Fault Fault, IReadOnlyList<ScoredSnapshot> Windows, bool Alarmed)
{
    /// <summary>1-based rank of the true root under per-window scores (one array per window) summed per service; N+1 if
    /// absent.</summary>
    public int RankOf(IReadOnlyList<float[]> scoresPerWindow)
    {
        // Services in order of first appearance, so that one window ranks exactly as its snapshot's node order does.
        var position = new Dictionary<string, int>();
        var total = new List<float>();
        for (int w = 0; w < Windows.Count; w++)
        for (int n = 0; n < scoresPerWindow[w].Length; n++)
        {
            var service = Windows[w].Snapshot.Service(n);
            if (!position.TryGetValue(service, out int at))
            {
                position[service] = at = total.Count;
                total.Add(0);
            }
            total[at] += scoresPerWindow[w][n];
        }
        return Evaluator.Rank(total, position.GetValueOrDefault(Fault.Service, -1));
    }
}
