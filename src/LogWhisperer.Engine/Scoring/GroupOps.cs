using TorchSharp;
using static TorchSharp.torch;

namespace LogWhisperer.Scoring;

/// <summary>
/// Softmax over groups with scatter/index ops only (never a dense N×N matrix): attention over each node's
/// incoming edges, and root-cause probability over each graph's nodes.
/// </summary>
internal static class GroupOps
{
    // Scalars we own, passed explicitly (alpha too: add/sub without one make a temporary inside TorchSharp).
    // TorchSharp 0.107 can finalise a temporary Scalar while libtorch is still reading it, which fails at
    // random under GC pressure with "Expected false to be true ... Scalar::toFloat".
    internal static readonly Scalar One = 1.ToScalar(),
        Epsilon = 1e-16.ToScalar(),
        MaxLogit = 60.0.ToScalar(),
        NegativeInfinity = double.NegativeInfinity.ToScalar(),
        LeakySlope = 0.2.ToScalar(); // GAT's attention: leaky ReLU with slope 0.2, as in the paper

    /// <summary>ELU (alpha 1) with owned Scalars: <c>functional.elu(x, 1.0)</c> passes three temporaries (a stressed CI
    /// run failed in its sibling <c>leaky_relu(x, 0.2)</c> with "Scalar::toFloat").</summary>
    public static Tensor Elu(Tensor x) => x.elu(One, One, One);

    public static Tensor Sum(Tensor values, Tensor group, long groups)
    {
        var shape = values.shape.ToArray();
        shape[0] = groups;
        return zeros(shape, values.dtype, values.device).index_add(0, group, values, One);
    }

    /// <summary>
    /// Softmax of edge scores [E, H] over the edges entering each node. TorchSharp 0.107 has no scatter-max
    /// (index_reduce is not implemented), so each node's scores are shifted by the score of its own self-loop
    /// (every node has one) instead of by their max: softmax is the same for any shift within a group, and a
    /// shift that belongs to the node keeps each graph's result independent of the other graphs in its batch
    /// (a batch-wide shift did not: the clamp against overflow then depended on the batch). Differences above
    /// 60 are clamped (exp(60) ≈ 1e26 stays finite in float32); layer-normed inputs stay far from that.
    /// </summary>
    public static Tensor EdgeSoftmax(Tensor scores, Tensor target, Tensor selfLoop, long nodes)
    {
        var shift = scores.index_select(0, selfLoop).index_select(0, target).detach();
        var ex = scores.add(shift.neg(), One).clamp_max(MaxLogit).exp();
        return ex / Sum(ex, target, nodes).index_select(0, target).add(Epsilon, One);
    }

    /// <summary>Lays node values [N] or [N, H] out as [B, maxNodes(, H)], padding with
    /// <paramref name="fill"/>.</summary>
    public static Tensor ToDense(Tensor values, GraphBatch batch, Scalar fill)
    {
        var shape = values.shape.ToArray();
        shape[0] = (long)batch.Graphs * batch.MaxNodes;
        var dense = full(shape, fill, values.dtype, values.device).index_copy(0, batch.DenseIndex, values);
        return values.dim() == 1
            ? dense.view(batch.Graphs, batch.MaxNodes)
            : dense.view(batch.Graphs, batch.MaxNodes, shape[1]);
    }

    /// <summary>Log-softmax of node logits [N] within each graph (exact: per-graph max through the padded
    /// layout).</summary>
    public static Tensor GraphLogSoftmax(Tensor logits, GraphBatch batch) =>
        nn
            .functional.log_softmax(ToDense(logits, batch, NegativeInfinity), 1)
            .view(-1)
            .index_select(0, batch.DenseIndex);

    /// <summary>Per-graph max of node states [N, H] → [B, H].</summary>
    public static Tensor GraphMax(Tensor values, GraphBatch batch) =>
        ToDense(values, batch, NegativeInfinity).amax([1]);
}
