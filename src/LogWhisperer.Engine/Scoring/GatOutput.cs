using static TorchSharp.torch;

namespace LogWhisperer.Scoring;

/// <summary>What the network says about a batch of graphs.</summary>
public sealed record GatOutput(Tensor NodeLogits, Tensor KindLogits, Tensor IncidentLogits, Tensor Attention)
    : IDisposable
{
    public void Dispose()
    {
        NodeLogits.Dispose();
        KindLogits.Dispose();
        IncidentLogits.Dispose();
        Attention.Dispose();
    }
}
