using LogWhisperer.Features;
using LogWhisperer.Graph;
using static TorchSharp.torch;

namespace LogWhisperer.Scoring;

/// <summary>
/// Per-feature attributions of a node's root-cause score by integrated gradients (Sundararajan et al. 2017):
/// the path integral of the gradient from a baseline input to the actual one, times the difference. The
/// baseline is the all-zero input, which for our features means "every series at its own median" — a
/// healthy mesh. All interpolation steps run as one block-diagonal batch.
/// </summary>
public sealed class IntegratedGradients(GatModel model, Device device, int steps = 16)
{
    private readonly Lock _lock = new();

    /// <returns>Attributions [node * F + feature] for the logit of <paramref name="target"/> (all nodes' inputs).</returns>
    public float[] Attribute(GraphSnapshot snapshot, int target)
    {
        lock (_lock)
        {
            using var scope = NewDisposeScope();
            model.eval();
            var copies = Enumerable.Repeat(snapshot, steps).ToArray();
            var batch = GraphBatch.Collate(copies, device, model.Config.UseEdges);
            var alphas = tensor(Enumerable.Range(1, steps).Select(i => (float)i / steps).ToArray()).to(device); // right Riemann sum
            var x = batch.NodeFeatures;
            var scaled = (x * alphas.index_select(0, batch.GraphIndex).unsqueeze(1)).detach().requires_grad_(true);
            var output = model.Forward(batch.WithNodeFeatures(scaled));
            var targets = tensor(Enumerable.Range(0, steps).Select(g => (long)(batch.NodeOffsets[g] + target)).ToArray()).to(device);
            output.NodeLogits.index_select(0, targets).sum().backward();
            int n = snapshot.NodeCount, f = FeatureSchema.NodeFeatureCount;
            var gradient = scaled.grad!.view(steps, n, f).mean([0]);
            return (gradient * x.view(steps, n, f)[0]).cpu().data<float>().ToArray();
        }
    }
}
