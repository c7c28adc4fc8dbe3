using LogWhisperer.Scoring;

namespace LogWhisperer.Changes;

public sealed record ChangeCorrelationOptions
{
    /// <summary>A change counts for an incident when it started at most this long before the incident's onset…</summary>
    public int LookbackSeconds { get; init; } = 900;
    /// <summary>…or at most this long after it (a change's record can trail its first effects).</summary>
    public int LagSeconds { get; init; } = 60;
    /// <summary>
    /// How much more likely the root cause is to be a service that changed within the lookback <em>and</em> deviates
    /// from its own baseline now (its new version behaves differently) than any other service. Fitted with
    /// <see cref="ModelWeight"/> by maximum likelihood of the true root on simulated incidents with benign changes
    /// (<see cref="ChangeCorrelator.Fit"/>; docs/changes.md has the run and the figures).
    /// </summary>
    public double LikelihoodRatio { get; init; } = 11.6;
    /// <summary>
    /// The exponent on the model's probability (log-linear pooling): below 1 it tempers a model that is sure of
    /// the wrong service when evidence is thin (metrics only), so that the change evidence can outweigh it.
    /// </summary>
    public double ModelWeight { get; init; } = 1;
    /// <summary>A service deviates when one of its features is at least this many σ (or the equivalent for shares) from its baseline.</summary>
    public double DeviationSigma { get; init; } = 3;
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
/// with the changes of each service by log-linear pooling, p_i^w × LR^[changed_i ∧ deviant_i], renormalised:
/// a service that changed within the lookback of the incident's onset and whose own measurements now deviate
/// from its baseline (its new version behaves differently) is <see cref="ChangeCorrelationOptions.LikelihoodRatio"/>
/// times likelier; w (<see cref="ChangeCorrelationOptions.ModelWeight"/>) tempers the model. A change alone is never
/// proof: benign changes happen all the time, often together with the bad one, and a changed service that
/// behaves as before gets nothing. The model's input features are untouched, so the stage works with any model and without changes
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
        var adjusted = Reweigh(scored.RootProbability, i => latest.ContainsKey(s.Service(i)) && Deviates(s, i, options.DeviationSigma), options.LikelihoodRatio, options.ModelWeight);
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

    /// <summary>Whether one of the node's features is at least <paramref name="sigma"/> from its baseline.</summary>
    public static bool Deviates(Graph.GraphSnapshot s, int node, double sigma)
    {
        for (int k = 0; k < Features.FeatureSchema.NodeFeatureCount; k++)
            if (Explain.Explainer.Strength(s, node, k) >= sigma) return true;
        return false;
    }

    /// <summary>p_i^w × LR for the flagged services, renormalised to sum to 1 (computed in logs: p can be tiny).</summary>
    public static float[] Reweigh(float[] probability, Func<int, bool> flagged, double ratio, double modelWeight = 1)
    {
        var log = new double[probability.Length];
        for (int i = 0; i < log.Length; i++)
            log[i] = modelWeight * Math.Log(Math.Max(probability[i], 1e-30)) + (flagged(i) ? Math.Log(ratio) : 0);
        double max = log.Max(), sum = 0;
        for (int i = 0; i < log.Length; i++) sum += log[i] = Math.Exp(log[i] - max);
        return log.Select(x => (float)(x / sum)).ToArray();
    }

    /// <summary>
    /// The likelihood ratio and model weight that maximise the mean log-probability of the true root over labelled
    /// windows (grid: ratio 1…10⁴ log-spaced, weight 0.05…1): the calibration behind <see cref="ChangeCorrelationOptions"/>.
    /// </summary>
    public static (double Ratio, double ModelWeight) Fit(IReadOnlyList<(float[] Probability, bool[] Flagged, int Root)> windows)
    {
        (double, double) best = (1, 1);
        double bestLl = double.NegativeInfinity;
        foreach (double w in new[] { 1, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05 })
            for (double lr = 1; lr <= 10_000; lr *= 1.25)
            {
                double ll = 0;
                foreach (var (p, flagged, root) in windows)
                    ll += Math.Log(Math.Max(1e-12, Reweigh(p, i => flagged[i], lr, w)[root]));
                if (ll > bestLl + 1e-9) { bestLl = ll; best = (lr, w); }
            }
        return best;
    }
}
