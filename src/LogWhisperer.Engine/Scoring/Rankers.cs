using LogWhisperer.Features;
using LogWhisperer.Graph;

namespace LogWhisperer.Scoring;

/// <summary>Anything that ranks a snapshot's services as root-cause candidates (higher score = more likely).</summary>
public interface IRootCauseRanker
{
    string Name { get; }
    float[][] Rank(IReadOnlyList<GraphSnapshot> snapshots);
}

/// <summary>The GAT (or its edge-ablated twin, depending on the model's config).</summary>
public sealed class GatRanker(string name, GatScorer scorer) : IRootCauseRanker
{
    public string Name => name;

    public float[][] Rank(IReadOnlyList<GraphSnapshot> snapshots) =>
        scorer.Score(snapshots).Select(s => s.RootProbability).ToArray();
}

/// <summary>
/// One model feature alone, largest first: how much a single signal says about the root cause on some data
/// (`replay --per-feature`), the first question when a model does poorly on a new mesh.
/// </summary>
internal sealed class SingleFeatureRanker(int feature) : IRootCauseRanker
{
    public string Name => FeatureSchema.NodeFeatures[feature].Name;

    public float[][] Rank(IReadOnlyList<GraphSnapshot> snapshots) =>
        snapshots.Select(s => s.NodeFeature(feature).ToArray()).ToArray();

    public static IReadOnlyList<IRootCauseRanker> All { get; } =
        Enumerable
            .Range(0, FeatureSchema.NodeFeatureCount)
            .Select(k => (IRootCauseRanker)new SingleFeatureRanker(k))
            .ToArray();
}

/// <summary>
/// The statistical baseline published studies find hard to beat (BARO / N-Sigma style): each service is
/// scored by its largest robust z-score (median/MAD against its own baseline) over all of its features.
/// </summary>
public sealed class RobustZScoreRanker : IRootCauseRanker
{
    private static readonly int[] ZFeatures = Enumerable
        .Range(0, FeatureSchema.NodeFeatureCount)
        .Where(k => FeatureSchema.NodeFeatures[k].Transform.IsDeviation())
        .ToArray();

    public string Name => "robust z-score (BARO/N-Sigma)";

    public float[][] Rank(IReadOnlyList<GraphSnapshot> snapshots) =>
        snapshots
            .Select(s =>
            {
                var scores = new float[s.NodeCount];
                foreach (int k in ZFeatures)
                {
                    var column = s.NodeFeature(k); // squashed z: monotone in |z|, so the max is the same service
                    for (int i = 0; i < scores.Length; i++)
                        scores[i] = Math.Max(scores[i], Math.Abs(column[i]));
                }
                return scores;
            })
            .ToArray();
}

/// <summary>Ranks each service by a score read from its node's measurements (the rankers that need no model).</summary>
public abstract class MeasurementRanker : IRootCauseRanker
{
    public abstract string Name { get; }

    /// <summary>The node's score; higher is more likely the root cause.</summary>
    protected abstract double Score(GraphSnapshot snapshot, int node);

    public float[][] Rank(IReadOnlyList<GraphSnapshot> snapshots) =>
        snapshots.Select(s => Enumerable.Range(0, s.NodeCount).Select(i => (float)Score(s, i)).ToArray()).ToArray();

    /// <summary>A measurement, 0 where it is missing.</summary>
    protected static double Value(GraphSnapshot s, int node, Measurement m) =>
        s.Measurement(node, m) is var v && double.IsFinite(v) ? v : 0;
}

/// <summary>
/// The naive ranker a person would write first: error log lines in the window minus the service's baseline
/// count (median of its recent windows). Loud where the root logs its own errors; blind where it does not.
/// </summary>
public sealed class ErrorLogDeltaRanker : MeasurementRanker
{
    public override string Name => "error-log delta";

    protected override double Score(GraphSnapshot s, int node) =>
        Value(s, node, Measurement.ErrorLogCount)
        - (s.Baseline(node, Measurement.ErrorLogCount) is var usual && double.IsFinite(usual) ? usual : 0);
}

/// <summary>
/// Trace-based localisation alone (MicroRank / TraceRCA style): each service's Ochiai score over the window's
/// anomalous and normal traces (logs attached), ties broken by how often it holds a trace's deepest anomaly.
/// </summary>
public sealed class TraceSpectrumRanker : MeasurementRanker
{
    public override string Name => "trace spectrum";

    protected override double Score(GraphSnapshot s, int node) =>
        Value(s, node, Measurement.TraceSpectrum) + 1e-3 * Value(s, node, Measurement.DeepestAnomalyShare);
}
