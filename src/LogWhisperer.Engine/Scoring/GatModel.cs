using System.Text.Json;
using LogWhisperer.Features;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LogWhisperer.Scoring;

/// <summary>
/// The root-cause Graph Attention Network. Node features are projected, passed through attention layers
/// over the (bidirectional, self-looped) call graph, then three heads read the result: a root-cause score
/// per node (softmax within each graph), a fault-kind classifier per node (read at the chosen root), and an
/// incident score per graph from max- and mean-pooled node states (quiet windows emit nothing). All sizes
/// are independent of the graph, so one model scores meshes of any size and shape.
/// </summary>
public sealed class GatModel : Module<GraphBatch, GatOutput>
{
    private readonly Linear _input;
    private readonly ModuleList<GatLayer> _layers;
    private readonly Sequential _nodeHead,
        _kindHead,
        _incidentHead;

    /// <summary>Settable only to record calibration (the temperature) after training.</summary>
    public GatConfig Config
    {
        get => _config;
        internal set
        {
            _config = value;
            _temperature = value.Temperature.ToScalar();
        }
    }
    private GatConfig _config = null!;
    private Scalar _temperature = null!; // owned, see GroupOps

    static GatModel() => NativeHeap.Apply(); // before the first tensor: see NativeHeap

    public GatModel(GatConfig config)
        : base("lw_gat")
    {
        Config = config;
        if (config.FeatureSchema != FeatureSchema.Version)
            throw new InvalidDataException(
                $"model was trained on feature schema '{config.FeatureSchema}', "
                    + $"this engine produces '{FeatureSchema.Version}'; retrain with `logwhisperer train`"
            );
        int h = config.Hidden,
            inputs = config.NodeFeatures * (config.RelativeFeatures ? 2 : 1);
        _input = Linear(inputs, h);
        _layers = new ModuleList<GatLayer>(
            Enumerable
                .Range(0, config.Layers)
                .Select(i => new GatLayer($"gat{i}", h, config.Heads, config.EdgeFeatures, config.Dropout))
                .ToArray()
        );
        _nodeHead = Sequential(Linear(h + inputs, h), ReLU(), Linear(h, 1));
        _kindHead = Sequential(Linear(h + inputs, h), ReLU(), Linear(h, config.FaultKinds.Length));
        _incidentHead = Sequential(Linear(2 * h, h), ReLU(), Linear(h, 1));
        RegisterComponents();
    }

    public override GatOutput forward(GraphBatch batch)
    {
        var x = batch.NodeFeatures;
        if (_config.RelativeFeatures)
            x = cat(
                [
                    x,
                    x
                        / GroupOps
                            .GraphMax(x.abs(), batch)
                            .index_select(0, batch.GraphIndex)
                            .add(GroupOps.One, GroupOps.One),
                ],
                1
            );
        var h = GroupOps.Elu(_input.forward(x));
        Tensor attention = null!;
        foreach (var layer in _layers)
        {
            var (next, alpha) = layer.forward(h, batch.Source, batch.Target, batch.SelfLoop, batch.EdgeFeatures);
            h = next;
            attention = alpha;
        }
        var withInput = cat([h, x], 1); // the raw evidence stays visible to the heads
        var nodeLogits = _nodeHead.forward(withInput).squeeze(-1).div(_temperature);
        var kindLogits = _kindHead.forward(withInput);
        var pooled = cat(
            [GroupOps.GraphMax(h, batch), GroupOps.Sum(h, batch.GraphIndex, batch.Graphs) / GraphSizes(batch)],
            1
        );
        var incidentLogits = _incidentHead.forward(pooled).squeeze(-1);
        return new GatOutput(nodeLogits, kindLogits, incidentLogits, attention);
    }

    private static Tensor GraphSizes(GraphBatch batch)
    {
        var sizes = new float[batch.Graphs];
        for (int g = 0; g < sizes.Length; g++)
            sizes[g] = Math.Max(1, batch.NodeOffsets[g + 1] - batch.NodeOffsets[g]);
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
        if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            throw new InvalidDataException($"{path} is not a LogWhisperer model file");
        var config =
            JsonSerializer.Deserialize<GatConfig>(reader.ReadBytes(reader.ReadInt32()))
            ?? throw new InvalidDataException($"{path}: bad model header");
        var model = new GatModel(config);
        model.load(reader);
        model.to(device);
        return model;
    }
}
