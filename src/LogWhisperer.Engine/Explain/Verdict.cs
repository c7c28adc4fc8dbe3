using System.Globalization;
using LogWhisperer.Scoring;

namespace LogWhisperer.Explain;

/// <summary>Whether the event names one root cause, or says it cannot tell between several.</summary>
/// <param name="Conclusion">"rootCause" (rank 1 is clearly ahead) or "inconclusive".</param>
/// <param name="Hypotheses">When inconclusive: the services that could each be the cause, most likely first.</param>
/// <param name="SeparatingEvidence">When inconclusive: what a person could look at to tell the hypotheses
/// apart.</param>
public sealed record Verdict(
    string Conclusion,
    IReadOnlyList<Hypothesis>? Hypotheses = null,
    IReadOnlyList<string>? SeparatingEvidence = null
)
{
    public const string RootCause = "rootCause",
        Inconclusive = "inconclusive";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsInconclusive => Conclusion == Inconclusive;
}

/// <param name="Symptom">The service's own loudest symptom in the window (e.g. "error ratio +12σ").</param>
public sealed record Hypothesis(string Service, double Score, string Symptom);

/// <summary>
/// A service in the blast radius: it calls the root cause, directly or through others, and shows a symptom
/// the model attributes to it (the fault travels from callee to caller).
/// </summary>
/// <param name="Hops">Calls between it and the root (1 = a direct caller).</param>
public sealed record ImpactedService(string Service, string Symptom, double Deviation, int Hops);

/// <summary>
/// Judges a scored window beyond its ranking: which symptomatic services the root explains (the callers
/// upstream of it), and whether the ranking is clear enough to name one cause.
/// Inconclusive when (a) the runner-up's calibrated score is at least <see cref="CloseRace"/> of the leader's,
/// or (b) a candidate with at least <see cref="MinHypothesisScore"/> shares no call path with the leader and
/// has a symptom of its own (≥ 3σ): the leader cannot have caused it, so two faults are as likely as one.
/// </summary>
internal static class VerdictJudge
{
    public const double CloseRace = 0.5,
        MinHypothesisScore = 0.05,
        SymptomSigma = 3;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static IReadOnlyList<ImpactedService> BlastRadius(ScoredSnapshot scored, int root)
    {
        var s = scored.Snapshot;
        var hops = Upstream(scored, root);
        var impacted = new List<ImpactedService>();
        for (int i = 0; i < s.NodeCount; i++)
        {
            if (i == root || hops[i] <= 0)
                continue;
            var (symptom, strength) = Explainer.LoudestSymptom(s, i);
            if (strength >= SymptomSigma)
                impacted.Add(new ImpactedService(s.Service(i), symptom, Math.Round(strength, 1), hops[i]));
        }
        return impacted.OrderBy(x => x.Hops).ThenByDescending(x => x.Deviation).ToList();
    }

    public static Verdict Judge(ScoredSnapshot scored, int[] ranking)
    {
        var s = scored.Snapshot;
        int root = ranking[0];
        double top = scored.RootProbability[root];
        var hypotheses = new List<int> { root };
        bool unrelated = false;
        var upstream = Upstream(scored, root);
        foreach (int node in ranking.Skip(1).Take(4))
        {
            double score = scored.RootProbability[node];
            if (score < MinHypothesisScore)
                break;
            if (score >= CloseRace * top)
            {
                hypotheses.Add(node);
                continue;
            }
            bool related = upstream[node] > 0 || Upstream(scored, node)[root] > 0;
            if (!related && Explainer.LoudestSymptom(s, node).Strength >= SymptomSigma)
            {
                hypotheses.Add(node);
                unrelated = true;
            }
        }
        if (hypotheses.Count == 1)
            return new Verdict(Verdict.RootCause);
        var named = hypotheses
            .Select(n => new Hypothesis(
                s.Service(n),
                Math.Round(scored.RootProbability[n], 4),
                Explainer.LoudestSymptom(s, n).Symptom
            ))
            .ToList();
        return new Verdict(Verdict.Inconclusive, named, Separating(scored, hypotheses, unrelated));
    }

    /// <summary>What would tell the hypotheses apart, said for each pair of the leader and another.</summary>
    private static List<string> Separating(ScoredSnapshot scored, List<int> hypotheses, bool unrelated)
    {
        var s = scored.Snapshot;
        string a = s.Service(hypotheses[0]);
        var lines = new List<string>();
        foreach (int other in hypotheses.Skip(1))
        {
            string b = s.Service(other);
            if (Upstream(scored, hypotheses[0])[other] > 0)
                lines.Add(
                    string.Create(
                        Inv,
                        $"{b} calls {a}: if {b}'s own time (its p95 self time, not counting its calls) stayed at baseline, its slowness or errors come from {a}; if it rose, {b} is at fault."
                    )
                );
            else if (Upstream(scored, other)[hypotheses[0]] > 0)
                lines.Add(
                    string.Create(
                        Inv,
                        $"{a} calls {b}: if {a}'s own time (its p95 self time, not counting its calls) stayed at baseline, its slowness or errors come from {b}; if it rose, {a} is at fault."
                    )
                );
            else
                lines.Add(
                    string.Create(
                        Inv,
                        $"{a} and {b} share no call path, so one cannot have caused the other: two independent faults are likely. Check each one's recent changes (deploys, config), resource use and own errors separately."
                    )
                );
        }
        if (!unrelated)
            lines.Add(
                "Traces through both services in this window (which span first turns slow or failing) separate them fastest."
            );
        return lines;
    }

    /// <summary>Per node, the number of calls between it and <paramref name="root"/> going up the call graph (caller of
    /// a caller…); 0 if it does not reach the root.</summary>
    internal static int[] Upstream(ScoredSnapshot scored, int root)
    {
        var s = scored.Snapshot;
        var sources = s.EdgeSources;
        var targets = s.EdgeTargets;
        var hops = new int[s.NodeCount];
        var queue = new Queue<int>();
        queue.Enqueue(root);
        var seen = new bool[s.NodeCount];
        seen[root] = true;
        while (queue.Count > 0)
        {
            int node = queue.Dequeue();
            for (int j = 0; j < s.EdgeCount; j++)
            {
                if (targets[j] != node || seen[sources[j]])
                    continue;
                seen[sources[j]] = true;
                hops[sources[j]] = hops[node] + 1;
                queue.Enqueue(sources[j]);
            }
        }
        return hops;
    }
}
