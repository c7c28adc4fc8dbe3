using LogWhisperer.Scoring;

namespace LogWhisperer.Changes;

public sealed record ChangeCorrelationOptions
{
    /// <summary>A change counts for an incident when it started at most this long before the incident's
    /// onset…</summary>
    public int LookbackSeconds { get; init; } = 900;

    /// <summary>…or at most this long after it (a change's record can trail its first effects).</summary>
    public int LagSeconds { get; init; } = 60;

    /// <summary>Upper ends (seconds before the onset) of the bins of time since the service's last change; the last is
    /// the lookback.</summary>
    public int[] BinSeconds { get; init; } = [120, 300, 900];

    /// <summary>
    /// Per bin of time since the change: how much likelier the root cause is to be a service that changed then
    /// <em>and</em> deviates from its own baseline now (its new version behaves differently) than any other
    /// service. Fitted by maximum likelihood of the true root on simulated incidents with benign changes
    /// (<see cref="ChangeCorrelator.Fit"/>, printed by <c>eval --no-changes</c>; docs/datasets.md has the run).
    /// </summary>
    public double[] LikelihoodRatios { get; init; } = [69.4, 1, 4.8];

    /// <summary>The event names the candidate's change only when its bin's ratio is at least this (the change is
    /// evidence at all).</summary>
    public double TieRatio { get; init; } = 10;

    /// <summary>A service deviates when one of its features is at least this many σ (or the equivalent for shares) from
    /// its baseline.</summary>
    public double DeviationSigma { get; init; } = 3;

    /// <summary>The bin of a change that started <paramref name="secondsBeforeOnset"/> before the onset (negative:
    /// after it).</summary>
    public int Bin(double secondsBeforeOnset)
    {
        for (int b = 0; b < BinSeconds.Length; b++)
            if (secondsBeforeOnset <= BinSeconds[b])
                return b;
        return BinSeconds.Length - 1;
    }
}

/// <summary>The change the verdict is tied to: the root candidate's own change within the lookback of the
/// onset.</summary>
/// <param name="OnsetMs">Start of the incident's first alarmed window.</param>
public sealed record ChangeEvidence(ChangeEvent Change, long OnsetMs)
{
    /// <summary>Seconds from the change's start to the incident's onset (negative when the change was recorded after
    /// it).</summary>
    public double SecondsBeforeOnset => (OnsetMs - Change.TimestampMs) / 1000.0;
}

/// <summary> The change-correlation stage, after scoring and before explaining: it weighs the model's root-cause
/// ranking with the changes of each service, p_i × LR_b(i), renormalised: a service that changed within the lookback of
/// the incident's onset and whose own measurements now deviate from its baseline (its new version behaves differently)
/// is LR_b times likelier, b being the bin of the time from its change to the onset
/// (<see cref="ChangeCorrelationOptions.LikelihoodRatios"/>). A change alone is never proof: benign changes happen all
/// the time, often together with the bad one; a changed service that behaves as before gets nothing, and a change long
/// before the onset little or nothing. The model's input features are untouched, so the stage works with any model and
/// without changes (no change log: scores pass through unchanged).
/// </summary>
internal sealed class ChangeCorrelator(ChangeLog log, ChangeCorrelationOptions options, double incidentThreshold)
{
    private readonly Dictionary<string, long> _onset = new(StringComparer.Ordinal);

    public ScoredSnapshot Apply(ScoredSnapshot scored)
    {
        var s = scored.Snapshot;
        if (scored.IncidentProbability < incidentThreshold)
        {
            _onset.Remove(s.Cluster);
            return scored;
        }
        if (!_onset.TryGetValue(s.Cluster, out long onset))
            _onset[s.Cluster] = onset = s.WindowStartMs;
        var latest = LatestChanges(log, s.Cluster, onset, s.WindowEndMs, options);
        if (latest.Count == 0)
            return scored;
        var bins = Bins(s, latest, onset, options);
        var adjusted = Reweigh(scored.RootProbability, i => bins[i] < 0 ? 1 : options.LikelihoodRatios[bins[i]]);
        int top = Array.IndexOf(adjusted, adjusted.Max());
        return scored with
        {
            RootProbability = adjusted,
            Change =
                bins[top] >= 0 && options.LikelihoodRatios[bins[top]] >= options.TieRatio
                    ? new ChangeEvidence(latest[s.Service(top)], onset)
                    : null,
        };
    }

    /// <summary>Per node: the bin of its latest change if it changed and deviates now, else −1.</summary>
    public static int[] Bins(
        Graph.GraphSnapshot s,
        Dictionary<string, ChangeEvent> latest,
        long onsetMs,
        ChangeCorrelationOptions options
    ) =>
        Enumerable
            .Range(0, s.NodeCount)
            .Select(i =>
                latest.TryGetValue(s.Service(i), out var c) && Deviates(s, i, options.DeviationSigma)
                    ? options.Bin((onsetMs - c.TimestampMs) / 1000.0)
                    : -1
            )
            .ToArray();

    /// <summary>Each service's latest change in [onset − lookback, min(onset + lag, window end)].</summary>
    public static Dictionary<string, ChangeEvent> LatestChanges(
        ChangeLog log,
        string cluster,
        long onsetMs,
        long windowEndMs,
        ChangeCorrelationOptions options
    )
    {
        var latest = new Dictionary<string, ChangeEvent>(StringComparer.Ordinal);
        foreach (
            var c in log.Between(
                cluster,
                onsetMs - options.LookbackSeconds * 1000L,
                Math.Min(windowEndMs, onsetMs + options.LagSeconds * 1000L)
            )
        )
            latest[c.Service] = c;
        return latest;
    }

    /// <summary>Whether one of the node's features is at least <paramref name="sigma"/> from its baseline.</summary>
    public static bool Deviates(Graph.GraphSnapshot s, int node, double sigma)
    {
        for (int k = 0; k < Features.FeatureSchema.NodeFeatureCount; k++)
            if (Explain.Explainer.Strength(s, node, k) >= sigma)
                return true;
        return false;
    }

    /// <summary>p_i × ratio(i), renormalised to sum to 1 (computed in logs: p can be tiny).</summary>
    public static float[] Reweigh(float[] probability, Func<int, double> ratio)
    {
        var log = new double[probability.Length];
        for (int i = 0; i < log.Length; i++)
            log[i] = Math.Log(Math.Max(probability[i], 1e-30)) + Math.Log(ratio(i));
        double max = log.Max(),
            sum = 0;
        for (int i = 0; i < log.Length; i++)
            sum += log[i] = Math.Exp(log[i] - max);
        return log.Select(x => (float)(x / sum)).ToArray();
    }

    /// <summary> The ratio per bin that maximises the mean log-probability of the true root over labelled windows
    /// (coordinate ascent over a log-spaced grid 1…10⁴ per bin): the calibration behind
    /// <see cref="ChangeCorrelationOptions.LikelihoodRatios"/>.
    /// </summary>
    /// <param name="windows">Each window's model probabilities, the bin of each node (−1: no deviant change), and the
    /// true root.</param>
    public static double[] Fit(IReadOnlyList<(float[] Probability, int[] Bin, int Root)> windows, int bins = 3)
    {
        var ratios = Enumerable.Repeat(1.0, bins).ToArray();
        double LogLikelihood() =>
            windows.Sum(w =>
                Math.Log(Math.Max(1e-12, Reweigh(w.Probability, i => w.Bin[i] < 0 ? 1 : ratios[w.Bin[i]])[w.Root]))
            );
        for (int pass = 0; pass < 3; pass++)
        for (int b = 0; b < bins; b++)
        {
            double best = ratios[b],
                bestLl = double.NegativeInfinity;
            for (double lr = 1; lr <= 10_000; lr *= 1.25)
            {
                ratios[b] = lr;
                double ll = LogLikelihood();
                if (ll > bestLl + 1e-9)
                {
                    bestLl = ll;
                    best = lr;
                }
            }
            ratios[b] = Math.Round(best, 1);
        }
        return ratios;
    }
}
