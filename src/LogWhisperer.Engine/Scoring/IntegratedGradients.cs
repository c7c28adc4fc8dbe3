using LogWhisperer.Features;
using LogWhisperer.Graph;
using static TorchSharp.torch;

namespace LogWhisperer.Scoring;

/// <summary>
/// Per-feature attributions of a node's root-cause score by integrated gradients (Sundararajan et al. 2017):
/// the path integral of the gradient from a baseline input to the actual one, times the difference. The
/// baseline is the all-zero input, which for our features means "every series at its own median" — a
/// healthy mesh. Interpolation steps run as block-diagonal batches of at most <see cref="MaxNodesPerPass"/> nodes:
/// a small mesh takes one pass, a 1,000-service one several, so the memory a pass needs (autograd keeps every
/// layer's activations) stays that of about 4,000 nodes however large the mesh is.
/// </summary>
public sealed class IntegratedGradients(GatModel model, Device device, int steps = 16)
{
    private readonly Lock _lock = new();

    /// <summary>Nodes (graph copies × nodes per graph) in one forward and backward pass.</summary>
    public const int MaxNodesPerPass = 4096;

    /// <returns>Attributions [node * F + feature] for the logit of <paramref name="target"/> (all nodes'
    /// inputs).</returns>
    public float[] Attribute(GraphSnapshot snapshot, int target)
    {
        lock (_lock)
        {
            model.eval();
            int n = snapshot.NodeCount,
                f = FeatureSchema.NodeFeatureCount;
            int perPass = Math.Clamp(MaxNodesPerPass / Math.Max(1, n), 1, steps);
            var gradientSum = new float[n * f];
            float[]? input = null;
            for (int first = 1; first <= steps; first += perPass)
            {
                using var scope = NewDisposeScope(); // a pass's activations go before the next pass's come
                int count = Math.Min(perPass, steps - first + 1);
                var batch = GraphBatch.Collate(
                    Enumerable.Repeat(snapshot, count).ToArray(),
                    device,
                    model.Config.UseEdges
                );
                // right Riemann sum
                var alphas = tensor(Enumerable.Range(first, count).Select(i => (float)i / steps).ToArray()).to(device);
                var x = batch.NodeFeatures;
                var scaled = (x * alphas.index_select(0, batch.GraphIndex).unsqueeze(1)).detach().requires_grad_(true);
                var output = model.forward(batch.WithNodeFeatures(scaled));
                var targets = tensor(
                        Enumerable.Range(0, count).Select(g => (long)(batch.NodeOffsets[g] + target)).ToArray()
                    )
                    .to(device);
                output.NodeLogits.index_select(0, targets).sum().backward();
                var passSum = scaled.grad!.view(count, n, f).sum([0]).cpu().data<float>();
                for (int i = 0; i < gradientSum.Length; i++)
                    gradientSum[i] += passSum[i];
                input ??= x.view(count, n, f)[0].cpu().data<float>().ToArray();
            }
            for (int i = 0; i < gradientSum.Length; i++)
                gradientSum[i] = gradientSum[i] / steps * input![i];
            return gradientSum;
        }
    }
}
