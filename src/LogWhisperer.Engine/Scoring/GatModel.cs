using System.Text.Json;
using LogWhisperer.Features;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LogWhisperer.Scoring;

/// <summary>Hyper-parameters and provenance, saved in the checkpoint beside the weights.</summary>
public sealed record GatConfig
{
    public int Hidden { get; init; } = 32;
    public int Heads { get; init; } = 4;
    public int Layers { get; init; } = 3;
    public double Dropout { get; init; } = 0.1;
    public string FeatureSchema { get; init; } = Features.FeatureSchema.Version;
    public int NodeFeatures { get; init; } = Features.FeatureSchema.NodeFeatureCount;
    public int EdgeFeatures { get; init; } = Features.FeatureSchema.EdgeFeatureCount;
    public string[] FaultKinds { get; init; } = Enum.GetNames<Simulation.FaultKind>();
    /// <summary>False for the edge-ablation baseline: the same network sees each node alone (self-loops only).</summary>
    public bool UseEdges { get; init; } = true;
    /// <summary>
    /// Also feed each feature relative to its largest magnitude among the graph's nodes (x / (max |x| + 1)):
    /// "the most error-log surprise in this window" reads the same on a mesh whose evidence is ten times weaker
    /// than the simulator's, as a single-feature ranker's argmax does. False in models trained before it.
    /// </summary>
    public bool RelativeFeatures { get; init; }
    /// <summary>Divides root-cause logits before the softmax; fitted on validation data so scores are calibrated.</summary>
    public double Temperature { get; init; } = 1;
    /// <summary>The command line that trained the model, so it can be reproduced.</summary>
    public string? TrainedWith { get; init; }
    public string? TrainedAt { get; init; }
}

/// <summary>
/// Softmax over groups with scatter/index ops only (never a dense N×N matrix): attention over each node's
/// incoming edges, and root-cause probability over each graph's nodes.
/// </summary>
internal static class GroupOps
{
    // Scalars we own, passed explicitly (alpha too: add/sub without one make a temporary inside TorchSharp).
    // TorchSharp 0.107 can finalise a temporary Scalar while libtorch is still reading it, which fails at
    // random under GC pressure with "Expected false to be true ... Scalar::toFloat".
    internal static readonly Scalar One = 1.ToScalar(), Epsilon = 1e-16.ToScalar(), MaxLogit = 60.0.ToScalar(), NegativeInfinity = double.NegativeInfinity.ToScalar();

    public static Tensor Sum(Tensor values, Tensor group, long groups)
    {
        var shape = values.shape.ToArray(); shape[0] = groups;
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

    /// <summary>Lays node values [N] or [N, H] out as [B, maxNodes(, H)], padding with <paramref name="fill"/>.</summary>
    public static Tensor ToDense(Tensor values, GraphBatch batch, Scalar fill)
    {
        var shape = values.shape.ToArray(); shape[0] = (long)batch.Graphs * batch.MaxNodes;
        var dense = full(shape, fill, values.dtype, values.device).index_copy(0, batch.DenseIndex, values);
        return values.dim() == 1 ? dense.view(batch.Graphs, batch.MaxNodes) : dense.view(batch.Graphs, batch.MaxNodes, shape[1]);
    }

    /// <summary>Log-softmax of node logits [N] within each graph (exact: per-graph max through the padded layout).</summary>
    public static Tensor GraphLogSoftmax(Tensor logits, GraphBatch batch) =>
        nn.functional.log_softmax(ToDense(logits, batch, NegativeInfinity), 1).view(-1).index_select(0, batch.DenseIndex);

    /// <summary>Per-graph max of node states [N, H] → [B, H].</summary>
    public static Tensor GraphMax(Tensor values, GraphBatch batch) => ToDense(values, batch, NegativeInfinity).amax([1]);
}

/// <summary>
/// A GATv2-style attention layer with edge features: each node attends over its incoming edges
/// (including its self-loop), per head, then a residual connection and layer normalisation.
/// </summary>
public sealed class GatLayer : Module
{
    private readonly Linear _source, _target, _edge, _output;
    private readonly Parameter _attention;
    private readonly LayerNorm _norm;
    private readonly Dropout _dropout;
    private readonly int _heads, _headDim;

    public GatLayer(string name, int hidden, int heads, int edgeFeatures, double dropout) : base(name)
    {
        _heads = heads; _headDim = hidden / heads;
        _source = Linear(hidden, heads * _headDim);
        _target = Linear(hidden, heads * _headDim);
        _edge = Linear(edgeFeatures, heads * _headDim);
        _output = Linear(heads * _headDim, hidden);
        _attention = new Parameter(randn(heads, _headDim) * (1.0 / Math.Sqrt(_headDim)));
        _norm = LayerNorm([hidden]);
        _dropout = Dropout(dropout);
        RegisterComponents();
    }

    /// <returns>The new node states and the attention weights [E, heads].</returns>
    public (Tensor Nodes, Tensor Attention) Forward(Tensor x, Tensor source, Tensor target, Tensor selfLoop, Tensor edgeFeatures)
    {
        long n = x.shape[0], e = source.shape[0];
        var fromSource = _source.forward(x).index_select(0, source).view(e, _heads, _headDim);
        var fromTarget = _target.forward(x).index_select(0, target).view(e, _heads, _headDim);
        var fromEdge = _edge.forward(edgeFeatures).view(e, _heads, _headDim);
        var scores = (functional.leaky_relu(fromSource.add(fromTarget, GroupOps.One).add(fromEdge, GroupOps.One), 0.2) * _attention).sum(-1); // [E, H]
        var alpha = GroupOps.EdgeSoftmax(scores, target, selfLoop, n);
        var messages = (fromSource.add(fromEdge, GroupOps.One) * alpha.unsqueeze(-1)).view(e, _heads * _headDim);
        var aggregated = GroupOps.Sum(messages, target, n);
        var updated = _norm.forward(x.add(_dropout.forward(_output.forward(functional.elu(aggregated, 1.0))), GroupOps.One));
        return (updated, alpha);
    }
}

/// <summary>What the network says about a batch of graphs.</summary>
public sealed record GatOutput(Tensor NodeLogits, Tensor KindLogits, Tensor IncidentLogits, Tensor Attention) : IDisposable
{
    public void Dispose() { NodeLogits.Dispose(); KindLogits.Dispose(); IncidentLogits.Dispose(); Attention.Dispose(); }
}

/// <summary>
/// The root-cause Graph Attention Network. Node features are projected, passed through attention layers
/// over the (bidirectional, self-looped) call graph, then three heads read the result: a root-cause score
/// per node (softmax within each graph), a fault-kind classifier per node (read at the chosen root), and an
/// incident score per graph from max- and mean-pooled node states (quiet windows emit nothing). All sizes
/// are independent of the graph, so one model scores meshes of any size and shape.
/// </summary>
public sealed class GatModel : Module
{
    private readonly Linear _input;
    private readonly ModuleList<GatLayer> _layers;
    private readonly Sequential _nodeHead, _kindHead, _incidentHead;

    /// <summary>Settable only to record calibration (the temperature) after training.</summary>
    public GatConfig Config
    {
        get => _config;
        internal set { _config = value; _temperature = value.Temperature.ToScalar(); }
    }
    private GatConfig _config = null!;
    private Scalar _temperature = null!; // owned, see GroupOps

    static GatModel() => NativeHeap.Apply(); // before the first tensor: see NativeHeap

    public GatModel(GatConfig config) : base("lw_gat")
    {
        Config = config;
        if (config.FeatureSchema != FeatureSchema.Version)
            throw new InvalidDataException($"model was trained on feature schema '{config.FeatureSchema}', this engine produces '{FeatureSchema.Version}'; retrain with `logwhisperer train`");
        int h = config.Hidden, inputs = config.NodeFeatures * (config.RelativeFeatures ? 2 : 1);
        _input = Linear(inputs, h);
        _layers = new ModuleList<GatLayer>(Enumerable.Range(0, config.Layers).Select(i => new GatLayer($"gat{i}", h, config.Heads, config.EdgeFeatures, config.Dropout)).ToArray());
        _nodeHead = Sequential(Linear(h + inputs, h), ReLU(), Linear(h, 1));
        _kindHead = Sequential(Linear(h + inputs, h), ReLU(), Linear(h, config.FaultKinds.Length));
        _incidentHead = Sequential(Linear(2 * h, h), ReLU(), Linear(h, 1));
        RegisterComponents();
    }

    public GatOutput Forward(GraphBatch batch)
    {
        var x = batch.NodeFeatures;
        if (_config.RelativeFeatures)
            x = cat([x, x / GroupOps.GraphMax(x.abs(), batch).index_select(0, batch.GraphIndex).add(GroupOps.One, GroupOps.One)], 1);
        var h = functional.elu(_input.forward(x), 1.0);
        Tensor attention = null!;
        foreach (var layer in _layers)
        {
            var (next, alpha) = layer.Forward(h, batch.Source, batch.Target, batch.SelfLoop, batch.EdgeFeatures);
            h = next; attention = alpha;
        }
        var withInput = cat([h, x], 1); // the raw evidence stays visible to the heads
        var nodeLogits = _nodeHead.forward(withInput).squeeze(-1).div(_temperature);
        var kindLogits = _kindHead.forward(withInput);
        var pooled = cat([GroupOps.GraphMax(h, batch), GroupOps.Sum(h, batch.GraphIndex, batch.Graphs) / GraphSizes(batch)], 1);
        var incidentLogits = _incidentHead.forward(pooled).squeeze(-1);
        return new GatOutput(nodeLogits, kindLogits, incidentLogits, attention);
    }

    private static Tensor GraphSizes(GraphBatch batch)
    {
        var sizes = new float[batch.Graphs];
        for (int g = 0; g < sizes.Length; g++) sizes[g] = Math.Max(1, batch.NodeOffsets[g + 1] - batch.NodeOffsets[g]);
        return tensor(sizes, [sizes.Length, 1]).to(batch.NodeFeatures.device);
    }

    private static readonly byte[] Magic = "LWGAT1\n"u8.ToArray();

    /// <summary>Saves config (JSON) and weights in one file.</summary>
    public void SaveTo(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        writer.Write(Magic);
        var json = JsonSerializer.SerializeToUtf8Bytes(Config);
        writer.Write(json.Length);
        writer.Write(json);
        save(writer);
    }

    public static GatModel Load(string path, Device device)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException($"{path} is not a LogWhisperer model file");
        var config = JsonSerializer.Deserialize<GatConfig>(reader.ReadBytes(reader.ReadInt32())) ?? throw new InvalidDataException($"{path}: bad model header");
        var model = new GatModel(config);
        model.load(reader);
        model.to(device);
        return model;
    }
}
