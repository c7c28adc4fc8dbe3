using LogWhisperer.Explain;
using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;
using LogWhisperer.Sources.Datasets;

namespace LogWhisperer.Evaluation;

/// <summary>The result of replaying a labelled dataset: rankings per method on each case's window, and
/// detection.</summary>
/// <param name="PerFeature">Each model feature alone as a ranker on the same windows, when asked for.</param>
public sealed record DatasetReplayResult(
    RankingReport Ranking,
    int Cases,
    int Detected,
    long RecordsReplayed,
    long RowsRejected,
    RankingReport? PerFeature = null
);

/// <summary>
/// Replays every case of a labelled dataset through the normal pipeline in event time (each case its own
/// cluster, with its baselines learned from the dataset's fault-free data), then ranks each case's incident
/// window with the engine's model, the baselines, and — optionally — the model fine-tuned on all the other
/// cases (leave-one-out few-shot).
/// </summary>
public sealed class DatasetReplay(DatasetMapping mapping, string root, PipelineOptions? pipelineOptions = null)
{
    private readonly PipelineOptions _options = pipelineOptions ?? new PipelineOptions();

    /// <param name="leaveOneOutBaseModel">When given, each case is also scored by this model fine-tuned on all other
    /// cases.</param>
    /// <param name="leaveOneKindOutBaseModel">When given, each case is also scored by this model fine-tuned on the
    /// cases of the other fault kinds only: how the engine does on a kind of fault it has seen no labelled example
    /// of.</param>
    public async Task<DatasetReplayResult> RunAsync(
        GatScorer scorer,
        IReadOnlyList<IRootCauseRanker> baselines,
        string? leaveOneOutBaseModel = null,
        TrainOptions? fineTune = null,
        IProgress<string>? progress = null,
        bool perFeature = false,
        CancellationToken cancellationToken = default,
        string? leaveOneKindOutBaseModel = null,
        bool withholdChanges = false,
        Action<RcaEvent>? onEvent = null,
        IncidentJudgement? judgement = null
    )
    {
        var deadLetters = new MemoryDeadLetterSink();
        var adapter = new DatasetAdapter(mapping, root, deadLetters);
        var cases = adapter.LoadCases();
        var topology = adapter.LoadTopology();
        progress?.Report(
            $"{mapping.Name}: {cases.Count} cases, {adapter.RowsRead:N0} rows read, "
                + $"{adapter.RowsRejected:N0} rejected, {adapter.BlankValues:N0} blank metric cells"
                + (topology.Count > 0 ? $", {topology.Count} declared call edges" : "")
                + (
                    mapping.Changes is null
                        ? ""
                        : $", {adapter.ChangesRead:N0} changes ({adapter.ChangesIgnored:N0} records not changes)"
                )
        );

        var chosen = new List<JudgedIncident>();
        var labelled = new List<List<GraphSnapshot>>();
        int detected = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var (c, number) in cases.Select((c, i) => (c, i + 1)))
        {
            string Step() => $"[{number}/{cases.Count}, {clock.Elapsed.TotalSeconds:0} s] {c.Cluster}";
            var scored = new List<ScoredSnapshot>();
            var snapshots = new List<GraphSnapshot>();
            var sink = new CollectingRcaSink();
            var labeler = new IncidentLabeler([c.Fault]);
            // Each case's changes (if the dataset has any, and unless withheld) feed the change-correlation stage.
            var options =
                mapping.Changes is null || withholdChanges
                    ? _options
                    : _options with
                    {
                        Changes = NewChangeLog(c.Changes),
                    };
            var pipeline = new RcaPipeline(
                options,
                new Featurizer(_options.Features, declaredEdges: topology),
                scorer,
                sink,
                deadLetters,
                w => labeler.Label(w.StartMs, w.EndMs),
                onSnapshot: snapshots.Add,
                onScored: scored.Add
            );
            await pipeline.RunAsync(new ReplaySource(c.Records), cancellationToken, cancellationToken);
            foreach (var e in sink.Events)
                onEvent?.Invoke(e);
            if (
                sink.Events.Any(e =>
                    e.WindowEnd.ToUnixTimeMilliseconds() > c.Fault.StartMs
                    && e.WindowStart.ToUnixTimeMilliseconds() < c.Fault.EndMs
                )
            )
                detected++;
            var judged = Evaluator.IncidentWindows(
                scored,
                c.Fault,
                _options.Explainer.IncidentThreshold,
                (judgement ?? new()).Windows
            );
            if (judged is null)
            {
                progress?.Report($"{Step()}: no window covers the fault; left out");
                labelled.Add([]);
                continue;
            }
            chosen.Add(judged);
            labelled.Add(snapshots.Where(s => s.Label is not null).ToList());
            progress?.Report(
                $"{Step()}: {c.Fault.Kind} on {c.Fault.Service}, {c.Records.Count:N0} records, "
                    + $"engine rank {judged.RankOf(judged.Windows.Select(w => w.RootProbability).ToArray())} "
                    + $"over {judged.Windows.Count} window(s)"
            );
        }

        var ranking = Evaluator.RankSideBySide(chosen, baselines, "GAT zero-shot");
        var caseOfWindow = chosen.Select(x => cases.First(c => c.Fault == x.Fault).Index).ToArray();
        var fineTuned = new List<(string Name, int[] Ranks)>();
        if (leaveOneOutBaseModel is not null)
            // Case i is scored by a copy of the model fine-tuned on every other case's labelled windows.
            fineTuned.Add(
                (
                    "GAT leave-one-case-out fine-tuned",
                    HeldOutRanks(leaveOneOutBaseModel, i => k => k != caseOfWindow[i], i => $"case {i + 1}")
                )
            );
        if (leaveOneKindOutBaseModel is not null)
            // Case i is scored by a copy fine-tuned only on the cases of other fault kinds (one copy per kind).
            fineTuned.Add(
                (
                    "GAT leave-one-kind-out fine-tuned",
                    HeldOutRanks(
                        leaveOneKindOutBaseModel,
                        i => k => cases[k].Fault.Kind != chosen[i].Fault.Kind,
                        i => chosen[i].Fault.Kind.ToString()
                    )
                )
            );
        if (fineTuned.Count > 0)
            ranking = new RankingReport(
                [ranking.Methods[0], .. fineTuned.Select(f => f.Name), .. ranking.Methods.Skip(1)],
                ranking
                    .Incidents.Select(
                        (r, i) =>
                            r with
                            {
                                Ranks = [r.Ranks[0], .. fineTuned.Select(f => f.Ranks[i]), .. r.Ranks.Skip(1)],
                            }
                    )
                    .ToArray()
            );
        var features = perFeature ? Evaluator.RankSideBySide(chosen, SingleFeatureRanker.All) : null;

        // Scores each chosen window with a copy of the base model fine-tuned on the labelled windows of the cases
        // the window may learn from; copies are shared between windows that learn from the same cases.
        int[] HeldOutRanks(string baseModel, Func<int, Func<int, bool>> trainsOn, Func<int, string> heldOut)
        {
            var ranks = new int[chosen.Count];
            var tunedFor = new Dictionary<string, GatScorer>();
            for (int i = 0; i < chosen.Count; i++)
            {
                var include = trainsOn(i);
                var key = string.Join(',', Enumerable.Range(0, labelled.Count).Where(k => include(k)));
                if (!tunedFor.TryGetValue(key, out var tunedScorer))
                {
                    var train = labelled.Where((_, k) => include(k)).SelectMany(l => l).ToList();
                    var model = GatModel.Load(baseModel, scorer.Device);
                    var tuned = new GatTrainer(
                        fineTune
                            ?? new TrainOptions
                            {
                                Epochs = 8,
                                LearningRate = 1e-3,
                                Patience = 8,
                            },
                        scorer.Device
                    ).FineTune(model, train, train);
                    tunedFor[key] = tunedScorer = new GatScorer(tuned, scorer.Device);
                }
                var probabilities = tunedScorer
                    .Score(chosen[i].Windows.Select(w => w.Snapshot).ToList())
                    .Select(s => s.RootProbability)
                    .ToArray();
                ranks[i] = chosen[i].RankOf(probabilities);
                progress?.Report(
                    $"[held out: {heldOut(i)}, {i + 1}/{chosen.Count}, "
                        + $"{clock.Elapsed.TotalSeconds:0} s] {chosen[i].Fault.Service}: rank {ranks[i]}"
                );
            }
            return ranks;
        }
        static Changes.ChangeLog NewChangeLog(IEnumerable<Changes.ChangeEvent> changes)
        {
            var log = new Changes.ChangeLog();
            log.AddRange(changes);
            return log;
        }
        return new DatasetReplayResult(
            ranking,
            cases.Count,
            detected,
            cases.Sum(c => (long)c.Records.Count),
            adapter.RowsRejected,
            features
        );
    }
}
