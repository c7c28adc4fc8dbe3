using LogWhisperer.Graph;
using LogWhisperer.Simulation;
using TorchSharp;
using static TorchSharp.torch;

namespace LogWhisperer.Scoring;

/// <summary>The model's verdict on one snapshot.</summary>
public sealed record ScoredSnapshot(
    GraphSnapshot Snapshot,
    float[] RootProbability, // per node, sums to 1 within the snapshot
    float IncidentProbability,
    float[] KindProbability, // per fault kind, at the top-ranked node
    float[] CallAttention, // per call edge: how much the callee attends to its caller (mean over heads)
    float[] CallerAttention
) // per call edge: how much the caller attends to its callee
{
    /// <summary>The change the verdict is tied to, set by the change-correlation stage after scoring (null when
    /// none).</summary>
    public Changes.ChangeEvidence? Change { get; init; }

    public int TopNode => Array.IndexOf(RootProbability, RootProbability.Max());
    public FaultKind TopKind => (FaultKind)Array.IndexOf(KindProbability, KindProbability.Max());

    /// <summary>Nodes ordered from most to least likely root cause.</summary>
    public int[] Ranking() =>
        Enumerable.Range(0, RootProbability.Length).OrderByDescending(i => RootProbability[i]).ThenBy(i => i).ToArray();
}

/// <summary>
/// Scores many snapshots in one forward pass (block-diagonal batch), on the model's device. Thread-safe:
/// pipelines sharing a scorer take turns, each pass batching whatever they have.
/// </summary>
public sealed class GatScorer
{
    private readonly Lock _lock = new();
    private readonly GatModel _model;
    private readonly Device _device;

    /// <summary>Moves the model to <paramref name="device"/>: one made or loaded on the CPU would otherwise meet CUDA
    /// inputs.</summary>
    public GatScorer(GatModel model, Device device)
    {
        _model = model.to(device);
        _device = device;
    }

    public GatModel Model => _model;
    public Device Device => _device;

    public ScoredSnapshot[] Score(IReadOnlyList<GraphSnapshot> snapshots)
    {
        if (snapshots.Count == 0)
            return [];
        lock (_lock)
            return ScoreLocked(snapshots);
    }

    private ScoredSnapshot[] ScoreLocked(IReadOnlyList<GraphSnapshot> snapshots)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _model.eval();
        var batch = GraphBatch.Collate(snapshots, _device, _model.Config.UseEdges);
        var output = _model.forward(batch);
        var rootProbability = GroupOps.GraphLogSoftmax(output.NodeLogits, batch).exp().cpu().data<float>().ToArray();
        var kindProbability = nn.functional.softmax(output.KindLogits, 1).cpu().data<float>().ToArray();
        var incident = nn.functional.sigmoid(output.IncidentLogits).cpu().data<float>().ToArray();
        var attention = output.Attention.mean([1]).cpu().data<float>().ToArray();
        int kinds = _model.Config.FaultKinds.Length;

        var results = new ScoredSnapshot[snapshots.Count];
        for (int g = 0; g < snapshots.Count; g++)
        {
            int n0 = batch.NodeOffsets[g],
                n = batch.NodeOffsets[g + 1] - n0,
                e0 = batch.CallEdgeOffsets[g],
                calls = snapshots[g].EdgeCount;
            var probs = rootProbability.AsSpan(n0, n).ToArray();
            int top = n0 + Array.IndexOf(probs, probs.Max());
            bool edges = _model.Config.UseEdges;
            results[g] = new ScoredSnapshot(
                snapshots[g],
                probs,
                incident[g],
                kindProbability.AsSpan(top * kinds, kinds).ToArray(),
                edges ? attention.AsSpan(e0, calls).ToArray() : new float[calls],
                edges ? attention.AsSpan(e0 + calls, calls).ToArray() : new float[calls]
            );
        }
        return results;
    }
}
