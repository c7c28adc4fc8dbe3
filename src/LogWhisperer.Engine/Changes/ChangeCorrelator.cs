using LogWhisperer.Scoring;

namespace LogWhisperer.Changes;

public sealed record ChangeCorrelationOptions
{
    /// <summary>A change counts for an incident when it started at most this long before the incident's onset…</summary>
    public int LookbackSeconds { get; init; } = 900;
    /// <summary>…or at most this long after it (a change's record can trail its first effects).</summary>
    public int LagSeconds { get; init; } = 60;
    /// <summary>
    /// How much more likely the root cause is to have changed within the lookback than any other service:
    /// P(changed | root) / P(changed | not root), fitted by maximum likelihood of the true root on simulated
    /// incidents with benign changes (<see cref="ChangeCorrelator.FitLikelihoodRatio"/>; docs/changes.md has the run).
    /// </summary>
    public double LikelihoodRatio { get; init; } = 30;
}

/// <summary>The change the verdict is tied to: the root candidate's own change within the lookback of the onset.</summary>
/// <param name="OnsetMs">Start of the incident's first alarmed window.</param>
public sealed record ChangeEvidence(ChangeEvent Change, long OnsetMs)
{
    /// <summary>Seconds from the change's start to the incident's onset (negative when the change was recorded after it).</summary>
    public double SecondsBeforeOnset => (OnsetMs - Change.TimestampMs) / 1000.0;
}

/// <summary>
/// The change-correlation stage, after scoring and before explaining: it weighs the model's root-cause ranking
/// with the changes of each service. Bayes with a likelihood ratio: a service that changed within the lookback
/// of the incident's onset has its probability multiplied by <see cref="ChangeCorrelationOptions.LikelihoodRatio"/>,
/// then the ranking is renormalised. A change alone is never proof: benign changes happen all the time, often
/// together with the bad one, and a service the model finds healthy stays unlikely however recently it
/// changed. The model's input features are untouched, so the stage works with any model and without changes
/// (no change log: scores pass through unchanged).
/// </summary>
public sealed class ChangeCorrelator(ChangeLog log, ChangeCorrelationOptions options, double incidentThreshold)
{
    private readonly Dictionary<string, long> _onset = new(StringComparer.Ordinal);

    public ScoredSnapshot Apply(ScoredSnapshot scored)
    {
        var s = scored.Snapshot;
        if (scored.IncidentProbability < incidentThreshold) { _onset.Remove(s.Cluster); return scored; }
        if (!_onset.TryGetValue(s.Cluster, out long onset)) _onset[s.Cluster] = onset = s.WindowStartMs;
        var latest = LatestChanges(log, s.Cluster, onset, s.WindowEndMs, options);
        if (latest.Count == 0) return scored;
        var adjusted = Reweigh(scored.RootProbability, i => latest.ContainsKey(s.Service(i)), options.LikelihoodRatio);
        int top = Array.IndexOf(adjusted, adjusted.Max());
        return scored with
        {
            RootProbability = adjusted,
            Change = latest.TryGetValue(s.Service(top), out var change) ? new ChangeEvidence(change, onset) : null,
        };
    }

    /// <summary>Each service's latest change in [onset − lookback, min(onset + lag, window end)].</summary>
    public static Dictionary<string, ChangeEvent> LatestChanges(ChangeLog log, string cluster, long onsetMs, long windowEndMs, ChangeCorrelationOptions options)
    {
        var latest = new Dictionary<string, ChangeEvent>(StringComparer.Ordinal);
        foreach (var c in log.Between(cluster, onsetMs - options.LookbackSeconds * 1000L, Math.Min(windowEndMs, onsetMs + options.LagSeconds * 1000L)))
            latest[c.Service] = c;
        return latest;
    }

    /// <summary>p_i × LR for changed services, renormalised to sum to 1.</summary>
    public static float[] Reweigh(float[] probability, Func<int, bool> changed, double ratio)
    {
        var w = new double[probability.Length];
        double sum = 0;
        for (int i = 0; i < w.Length; i++) sum += w[i] = probability[i] * (changed(i) ? ratio : 1);
        return sum > 0 ? w.Select(x => (float)(x / sum)).ToArray() : probability;
    }

    /// <summary>
    /// The likelihood ratio that maximises the mean log-probability of the true root over labelled windows
    /// (grid over 1…10⁴, log-spaced): the calibration behind <see cref="ChangeCorrelationOptions.LikelihoodRatio"/>.
    /// </summary>
    public static double FitLikelihoodRatio(IReadOnlyList<(float[] Probability, bool[] Changed, int Root)> windows)
    {
        double best = 1, bestLl = double.NegativeInfinity;
        for (double lr = 1; lr <= 10_000; lr *= 1.25)
        {
            double ll = 0;
            foreach (var (p, changed, root) in windows)
                ll += Math.Log(Math.Max(1e-12, Reweigh(p, i => changed[i], lr)[root]));
            if (ll > bestLl) { bestLl = ll; best = lr; }
        }
        return best;
    }
}
