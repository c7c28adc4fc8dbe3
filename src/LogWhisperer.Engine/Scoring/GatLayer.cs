using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LogWhisperer.Scoring;

/// <summary>
/// A GATv2-style attention layer with edge features: each node attends over its incoming edges
/// (including its self-loop), per head, then a residual connection and layer normalisation.
/// </summary>
internal sealed class GatLayer : Module<Tensor, Tensor, Tensor, Tensor, Tensor, (Tensor Nodes, Tensor Attention)>
{
    private readonly Linear _source,
        _target,
        _edge,
        _output;
    private readonly Parameter _attention;
    private readonly LayerNorm _norm;
    private readonly Dropout _dropout;
    private readonly int _heads,
        _headDim;

    public GatLayer(string name, int hidden, int heads, int edgeFeatures, double dropout)
        : base(name)
    {
        _heads = heads;
        _headDim = hidden / heads;
        _source = Linear(hidden, heads * _headDim);
        _target = Linear(hidden, heads * _headDim);
        _edge = Linear(edgeFeatures, heads * _headDim);
        _output = Linear(heads * _headDim, hidden);
        using var scale = (1.0 / Math.Sqrt(_headDim)).ToScalar(); // owned, see GroupOps
        _attention = new Parameter(randn(heads, _headDim).mul(scale));
        _norm = LayerNorm([hidden]);
        _dropout = Dropout(dropout);
        RegisterComponents();
    }

    /// <returns>The new node states and the attention weights [E, heads].</returns>
    /// <param name="x">Node states [N, hidden].</param>
    /// <param name="source">Each edge's source node [E].</param>
    /// <param name="target">Each edge's target node [E].</param>
    /// <param name="selfLoop">Each node's self-loop edge [N].</param>
    /// <param name="edgeFeatures">[E, edge features].</param>
    public override (Tensor Nodes, Tensor Attention) forward(
        Tensor x,
        Tensor source,
        Tensor target,
        Tensor selfLoop,
        Tensor edgeFeatures
    )
    {
        long n = x.shape[0],
            e = source.shape[0];
        var fromSource = _source.forward(x).index_select(0, source).view(e, _heads, _headDim);
        var fromTarget = _target.forward(x).index_select(0, target).view(e, _heads, _headDim);
        var fromEdge = _edge.forward(edgeFeatures).view(e, _heads, _headDim);
        var scores = (
            fromSource.add(fromTarget, GroupOps.One).add(fromEdge, GroupOps.One).leaky_relu(GroupOps.LeakySlope)
            * _attention
        ).sum(-1); // [E, H]
        var alpha = GroupOps.EdgeSoftmax(scores, target, selfLoop, n);
        var messages = (fromSource.add(fromEdge, GroupOps.One) * alpha.unsqueeze(-1)).view(e, _heads * _headDim);
        var aggregated = GroupOps.Sum(messages, target, n);
        var updated = _norm.forward(x.add(_dropout.forward(_output.forward(GroupOps.Elu(aggregated))), GroupOps.One));
        return (updated, alpha);
    }
}
