using System.Globalization;
using System.Text;
using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Scoring;

namespace LogWhisperer.Explain;

public sealed record ExplainerOptions
{
    /// <summary>Windows whose incident probability is below this emit nothing.</summary>
    public double IncidentThreshold { get; init; } = 0.5;
    public int Candidates { get; init; } = 5;

    /// <summary>SLOs of entry services: each event's urgency is their burn rate (none: no urgency in events).</summary>
    public IReadOnlyList<ServiceLevelObjective> Slos { get; init; } = [];
}

/// <summary>
/// Turns a scored snapshot into an RCA event a person on call can act on: the top candidates; the
/// measurements of the top one that drove its score (integrated-gradients attributions when a model is
/// given, else the largest deviations from baseline); the log template that newly appeared; the neighbours
/// (callers that degraded, callees it depends on) ordered by the model's attention; and the attention-
/// weighted propagation path from the root cause to the loudest symptom.
/// </summary>
public sealed class Explainer(ExplainerOptions options, IntegratedGradients? attributions = null)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public RcaEvent? Explain(ScoredSnapshot scored)
    {
        if (scored.IncidentProbability < options.IncidentThreshold)
            return null;
        var s = scored.Snapshot;
        var ranking = scored.Ranking();
        int root = ranking[0];
        string rootName = s.Service(root);
        var candidates = ranking
            .Take(options.Candidates)
            .Select((node, i) => new RcaCandidate(i + 1, s.Service(node), Math.Round(scored.RootProbability[node], 4)))
            .ToArray();
        var kind = scored.TopKind;
        var ig = attributions?.Attribute(s, root);
        var features = TopEvidence(s, root, 3, ig);
        var neighbours = Neighbours(scored, root, 3, ig);
        var path = Path(scored, root);
        var template =
            s.NewTemplate(root) is { } t && s.Measurement(root, Measurement.NewTemplateRatio) > 0
                ? SecretMasker.Mask(LogTemplate.Mask(t))
                : null;
        var traces = Traces(s, root);

        var text = new StringBuilder();
        text.Append(
            Inv,
            $"{rootName} is the most likely root cause ({scored.RootProbability[root]:P0}; likely fault: {Words(kind.ToString())}, {scored.KindProbability.Max():P0})."
        );
        if (scored.Change is { } tied && tied.Change.Service == rootName)
            text.Append(' ').Append(ChangeSentence(tied));
        if (features.Count > 0)
            text.Append(' ').Append(Capitalize(string.Join("; ", features.Select(Sentence)))).Append('.');
        if (traces is not null && TraceSentence(rootName, traces) is { } traceSentence)
            text.Append(' ').Append(traceSentence);
        if (template is not null)
            text.Append(
                Inv,
                $" New log template: \"{Truncate(template, 140)}\" ({s.Measurement(root, Measurement.NewTemplateLineCount):0} line(s) from never-seen templates in this window)."
            );
        var degraded = neighbours.Where(n => n.Relation == "caller" && n.Deviation >= 3).ToArray();
        if (degraded.Length > 0)
            text.Append(" Callers degraded with it: ")
                .Append(string.Join(", ", degraded.Select(n => string.Create(Inv, $"{n.Service} ({n.Symptom})"))))
                .Append('.');
        if (path is { Count: > 2 })
            text.Append(" Likely propagation: ").Append(string.Join(" → ", path.Select(h => h.Service))).Append('.');
        var coverage = EvidenceCoverage.Of(s);
        if (coverage.Missing.Count > 0)
            text.Append(" Judged without ")
                .Append(string.Join(" or ", coverage.Missing))
                .Append(" (none in this window).");
        if (coverage.Sparse.Count > 0)
            text.Append(" Sparse evidence: ").Append(string.Join(", ", coverage.Sparse)).Append('.');
        var verdict = VerdictJudge.Judge(scored, ranking);
        if (verdict.IsInconclusive)
            text.Append(" Inconclusive: ")
                .Append(
                    string.Join(
                        " or ",
                        verdict.Hypotheses!.Select(h => string.Create(Inv, $"{h.Service} ({h.Score:P0})"))
                    )
                )
                .Append(" could each be the cause. ")
                .Append(verdict.SeparatingEvidence![0]);
        else if (candidates.Length > 1)
            text.Append(
                Inv,
                $" Next candidates: {string.Join(", ", candidates.Skip(1).Take(2).Select(c => string.Create(Inv, $"{c.Service} ({c.Score:P0})")))}."
            );

        return new RcaEvent
        {
            Id = $"rca-{s.Cluster}-{s.WindowStartMs}",
            Cluster = s.Cluster,
            WindowStart = DateTimeOffset.FromUnixTimeMilliseconds(s.WindowStartMs),
            WindowEnd = DateTimeOffset.FromUnixTimeMilliseconds(s.WindowEndMs),
            IncidentProbability = Math.Round(scored.IncidentProbability, 4),
            Candidates = candidates,
            FaultType = new FaultGuess(kind.ToString(), Math.Round(scored.KindProbability.Max(), 4)),
            Explanation = SecretMasker.Mask(text.ToString()),
            Evidence = new RcaEvidence(features, neighbours, template, path, traces),
            Degraded = coverage.Degraded ? true : null,
            MissingEvidence = coverage.Missing.Count > 0 ? coverage.Missing : null,
            SparseEvidence = coverage.Sparse.Count > 0 ? coverage.Sparse : null,
            Verdict = verdict,
            Urgency = ServiceLevelObjective.UrgencyOf(options.Slos, s),
            ImpactedServices = VerdictJudge.BlastRadius(scored, root) is { Count: > 0 } impacted ? impacted : null,
            Change = scored.Change is { } c && c.Change.Service == rootName ? ChangeOf(c) : null,
        };
    }

    private static RcaChange ChangeOf(Changes.ChangeEvidence e) =>
        new(
            e.Change.Service,
            e.Change.Kind.ToString().ToLowerInvariant(),
            DateTimeOffset.FromUnixTimeMilliseconds(e.Change.TimestampMs),
            Math.Round(e.SecondsBeforeOnset, 1),
            e.Change.FromVersion,
            e.Change.ToVersion,
            e.Change.Description is { } d ? SecretMasker.Mask(d) : null,
            e.Change.Source
        );

    /// <summary>"The incident began 40 s after the rollout of adservice v2 started."</summary>
    private static string ChangeSentence(Changes.ChangeEvidence e)
    {
        double s = e.SecondsBeforeOnset;
        string phrase = e.Change.Phrase(),
            from = e.Change.FromVersion is { } v ? $" (from {v})" : "";
        return s >= 0
            ? string.Create(Inv, $"The incident began {Duration(s)} after {phrase} started{from}.")
            : string.Create(Inv, $"{Capitalize(phrase)} was recorded {Duration(-s)} after the incident began{from}.");
    }

    private static string Duration(double seconds) =>
        seconds < 120 ? string.Create(Inv, $"{seconds:0} s") : string.Create(Inv, $"{seconds / 60:0.#} min");

    /// <summary>How strongly a feature of a node speaks: |z| for deviations, scaled shares for ratios.</summary>
    internal static double Strength(GraphSnapshot s, int node, int feature)
    {
        var info = FeatureSchema.NodeFeatures[feature];
        float v = s.NodeFeature(feature)[node];
        return info.Transform switch
        {
            FeatureTransform.RobustZ or FeatureTransform.CountSurprise or FeatureTransform.Squashed => Math.Abs(
                Unsquash(v)
            ),
            FeatureTransform.Ratio => 10 * v,
            FeatureTransform.RestartCount or FeatureTransform.Drop => 10 * v,
            _ => 0,
        };
    }

    internal static double Unsquash(float v) => Math.Sign(v) * (Math.Exp(Math.Abs(v)) - 1);

    /// <summary>The node's features that speak loudest: by attribution when known (those that raised its score), else
    /// by deviation.</summary>
    private static List<FeatureEvidence> TopEvidence(GraphSnapshot s, int node, int count, float[]? ig)
    {
        int f = FeatureSchema.NodeFeatureCount;
        var seen = new HashSet<Measurement>();
        var result = new List<FeatureEvidence>();
        var order = Enumerable.Range(0, f).OrderByDescending(k => ig is null ? Strength(s, node, k) : ig[node * f + k]);
        foreach (int k in order)
        {
            if (result.Count == count || Strength(s, node, k) < 2 || (ig is not null && ig[node * f + k] <= 0))
                continue;
            var info = FeatureSchema.NodeFeatures[k];
            if (!seen.Add(info.Measurement))
                continue; // one statement per measurement
            var m = FeatureSchema.Measurements[(int)info.Measurement];
            double value = s.Measurement(node, info.Measurement),
                baseline = s.Baseline(node, info.Measurement);
            double? deviation = info.Transform.IsDeviation() ? Math.Round(Unsquash(s.NodeFeature(k)[node]), 1) : null;
            result.Add(
                new FeatureEvidence(
                    s.Service(node),
                    info.Name,
                    m.Name,
                    m.Unit,
                    Finite(value),
                    Finite(baseline),
                    deviation,
                    ig is null ? null : Math.Round(ig[node * f + k], 4)
                )
            );
        }
        return result;
    }

    private static List<NeighbourEvidence> Neighbours(ScoredSnapshot scored, int root, int count, float[]? ig)
    {
        var s = scored.Snapshot;
        var sources = s.EdgeSources;
        var targets = s.EdgeTargets;
        var result = new List<NeighbourEvidence>();
        for (int j = 0; j < s.EdgeCount; j++)
        {
            if (targets[j] == root && sources[j] != root)
                result.Add(Neighbour(s, sources[j], "caller", scored.CallerAttention[j], ig));
            else if (sources[j] == root && targets[j] != root)
                result.Add(Neighbour(s, targets[j], "callee", scored.CallAttention[j], ig));
        }
        return result.OrderByDescending(n => n.Attention * Math.Max(1, n.Deviation)).Take(count).ToList();
    }

    private static NeighbourEvidence Neighbour(GraphSnapshot s, int node, string relation, float attention, float[]? ig)
    {
        var (symptom, loudness) = LoudestSymptom(s, node);
        double strength = Math.Round(loudness, 1);
        int f = FeatureSchema.NodeFeatureCount;
        double? attribution = ig is null
            ? null
            : Math.Round(Enumerable.Range(0, f).Sum(k => (double)ig[node * f + k]), 4);
        return new NeighbourEvidence(
            s.Service(node),
            relation,
            Math.Round(attention, 4),
            symptom,
            strength,
            attribution
        );
    }

    /// <summary>A node's loudest symptom in words ("median latency +4.6σ") and how loud it is.</summary>
    public static (string Symptom, double Strength) LoudestSymptom(GraphSnapshot s, int node)
    {
        int best = Enumerable.Range(0, FeatureSchema.NodeFeatureCount).MaxBy(k => Strength(s, node, k));
        var feature = FeatureSchema.NodeFeatures[best];
        double strength = Math.Round(Strength(s, node, best), 1);
        string symptom = feature.Transform.IsDeviation()
            ? string.Create(
                Inv,
                $"{FeatureSchema.Measurements[(int)feature.Measurement].Label.Replace("its ", "")} {Math.Sign(s.NodeFeature(best)[node]) * strength:+0.#;-0.#}σ"
            )
            : feature.Description;
        return (symptom, Strength(s, node, best));
    }

    /// <summary>From the root to the loudest symptom elsewhere in the graph, if the fault could have travelled
    /// there.</summary>
    private static List<PathHop>? Path(ScoredSnapshot scored, int root)
    {
        var s = scored.Snapshot;
        int loudest = -1;
        double loudness = 3; // only a real symptom (≥ 3σ or a third failing) is worth a path
        for (int i = 0; i < s.NodeCount; i++)
        {
            if (i == root)
                continue;
            double x = Enumerable.Range(0, FeatureSchema.NodeFeatureCount).Max(k => Strength(s, i, k));
            if (x > loudness)
            {
                loudness = x;
                loudest = i;
            }
        }
        if (loudest < 0 || PropagationPath.Find(scored, root, loudest) is not { } found)
            return null;
        return found
            .Nodes.Select(
                (node, i) => new PathHop(s.Service(node), i == 0 ? null : Math.Round(found.Attention[i - 1], 4))
            )
            .ToList();
    }

    private static string Sentence(FeatureEvidence e)
    {
        var info = FeatureSchema.NodeFeatures.First(f => f.Name == e.Feature);
        return info.Transform switch
        {
            FeatureTransform.RobustZ or FeatureTransform.CountSurprise => string.Create(
                Inv,
                $"{Label(e)} {(e.Deviation >= 0 ? "rose" : "fell")} to {Format(e.Value, e.Unit)} from a baseline of {Format(e.Baseline, e.Unit)} ({e.Deviation:+0.#;-0.#}σ)"
            ),
            FeatureTransform.Squashed => string.Create(Inv, $"{Label(e)}: {e.Deviation:+0.#;-0.#}σ"),
            FeatureTransform.Ratio => string.Create(Inv, $"{info.Description}: {e.Value ?? 0:P0}"),
            FeatureTransform.RestartCount => string.Create(Inv, $"the container restarted {e.Value ?? 0:0} time(s)"),
            FeatureTransform.Drop => string.Create(
                Inv,
                $"its telemetry fell to {Format(e.Value, e.Unit)} from {Format(e.Baseline, e.Unit)} (it went silent)"
            ),
            _ => e.Feature,
        };
    }

    /// <summary>The trace evidence on a node, when the window had anomalous requests.</summary>
    private static TraceEvidence? Traces(GraphSnapshot s, int node)
    {
        double all = s.Measurement(node, Measurement.WindowAnomalousTraces);
        if (!(all >= 1))
            return null;
        return new TraceEvidence(
            (int)all,
            (int)Zero(s.Measurement(node, Measurement.AnomalousTraces)),
            Math.Round(Zero(s.Measurement(node, Measurement.TraceSpectrum)), 4),
            Math.Round(Zero(s.Measurement(node, Measurement.DeepestAnomalyShare)), 4),
            (int)Zero(s.Measurement(node, Measurement.ErrorLogCount))
        );
    }

    /// <summary>
    /// "12 of 14 anomalous requests passed through ts-route-service, the deepest service common to them; it logged
    /// nothing itself": said only when the requests implicate the candidate (a majority passed through it).
    /// </summary>
    internal static string? TraceSentence(string service, TraceEvidence t)
    {
        if (t.ThroughCandidate * 2 <= t.AnomalousRequests)
            return null;
        var text = new StringBuilder(
            string.Create(
                Inv,
                $"{t.ThroughCandidate} of {t.AnomalousRequests} anomalous requests passed through {service}"
            )
        );
        if (t.DeepestShare >= 0.5)
            text.Append(Inv, $", and in {t.DeepestShare:P0} of them the deepest anomaly was its own");
        else
            text.Append(", the deepest service common to them");
        text.Append(
            t.OwnErrorLines == 0
                ? "; it logged no error itself."
                : string.Create(Inv, $"; it logged {t.OwnErrorLines} error line(s) itself.")
        );
        return text.ToString();
    }

    private static double Zero(double v) => double.IsFinite(v) ? v : 0;

    private static string Label(FeatureEvidence e) =>
        FeatureSchema.Measurements.First(m => m.Name == e.Measurement).Label;

    private static string Format(double? value, string unit) =>
        value switch
        {
            null => "nothing",
            var v when unit == "bytes" => string.Create(Inv, $"{v / 1048576:0.#} MiB"),
            var v when unit == "ratio" => string.Create(Inv, $"{v:P1}"),
            var v => string.Create(Inv, $"{v:0.##} {unit}"),
        };

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static double? Finite(double v) => double.IsFinite(v) ? Math.Round(v, 4) : null;

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";

    private static string Words(string pascal) =>
        string.Concat(
            pascal.Select(
                (c, i) =>
                    i > 0 && char.IsUpper(c) ? " " + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()
            )
        );
}
