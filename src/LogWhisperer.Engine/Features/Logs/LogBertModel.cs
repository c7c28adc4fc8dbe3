using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LogWhisperer.Features.Logs;

public sealed record LogBertConfig
{
    public int Dim { get; init; } = 64;
    public int Heads { get; init; } = 4;
    public int Layers { get; init; } = 2;

    /// <summary>Keys per chunk the transformer reads (plus the summary token in front).</summary>
    public int SequenceLength { get; init; } = 32;
    public int TextPieces { get; init; } = 12;
}

/// <summary>
/// A small BERT-style encoder over log-key sequences (LogBERT, Guo et al. 2021). Each position's input is its
/// key embedding plus the mean embedding of its template's text pieces plus a position embedding; position 0
/// is the summary token (DIST) whose output is the sequence embedding. Self-attention is written out (no
/// dense library layer) so padding is masked explicitly. Output: hidden states and masked-key logits.
/// </summary>
internal sealed class LogBertModel : nn.Module<Tensor, Tensor, (Tensor Hidden, Tensor Logits)>
{
    private readonly Embedding keys,
        pieces,
        positions;
    private readonly ModuleList<Linear> qkv,
        proj,
        ff1,
        ff2;
    private readonly ModuleList<LayerNorm> norm1,
        norm2;
    private readonly Linear head;
    private readonly int _heads,
        _dim;
    private readonly Scalar _attentionScale;

    public LogBertModel(LogBertConfig config, int vocabulary)
        : base(nameof(LogBertModel))
    {
        Config = config;
        Vocabulary = vocabulary;
        _heads = config.Heads;
        _dim = config.Dim;
        _attentionScale = (1.0 / Math.Sqrt(config.Dim / config.Heads)).ToScalar();
        keys = nn.Embedding(vocabulary, config.Dim);
        pieces = nn.Embedding(TemplateTextEncoder.Buckets, config.Dim, padding_idx: 0);
        positions = nn.Embedding(config.SequenceLength + 1, config.Dim);
        qkv = new ModuleList<Linear>();
        proj = new ModuleList<Linear>();
        ff1 = new ModuleList<Linear>();
        ff2 = new ModuleList<Linear>();
        norm1 = new ModuleList<LayerNorm>();
        norm2 = new ModuleList<LayerNorm>();
        for (int l = 0; l < config.Layers; l++)
        {
            qkv.Add(nn.Linear(config.Dim, 3 * config.Dim));
            proj.Add(nn.Linear(config.Dim, config.Dim));
            ff1.Add(nn.Linear(config.Dim, 4 * config.Dim));
            ff2.Add(nn.Linear(4 * config.Dim, config.Dim));
            norm1.Add(nn.LayerNorm(config.Dim));
            norm2.Add(nn.LayerNorm(config.Dim));
        }
        head = nn.Linear(config.Dim, vocabulary);
        RegisterComponents();
    }

    /// <summary>Alphas of ±1 created once and never disposed (the static constructor runs before the first model
    /// is built, which is outside any dispose scope in this project).</summary>
    internal static readonly Scalar One,
        MinusOne,
        Zero,
        Two,
        PadPenalty;

    static LogBertModel()
    {
        Scoring.NativeHeap.Apply(); // before the first tensor: see NativeHeap
        One = 1.0.ToScalar();
        MinusOne = (-1.0).ToScalar();
        Zero = 0.ToScalar();
        Two = 2.0.ToScalar();
        PadPenalty = (-1e9f).ToScalar();
    }

    public LogBertConfig Config { get; }
    public int Vocabulary { get; }

    /// <param name="keyIds">[B, S] key indices (position 0 = DIST, padding = 0).</param>
    /// <param name="pieceIds">[B, S, P] template text pieces (0 = padding).</param>
    public override (Tensor Hidden, Tensor Logits) forward(Tensor keyIds, Tensor pieceIds)
    {
        long b = keyIds.shape[0],
            s = keyIds.shape[1];
        var pieceMask = pieceIds.ne(Zero).unsqueeze(-1).to(ScalarType.Float32);
        var text = (pieces.call(pieceIds) * pieceMask).sum(2) / pieceMask.sum(2).clamp_min(One);
        // Sums pass an alpha this model owns: TorchSharp's default and implicitly converted alphas can be cached
        // Scalars that a dispose scope elsewhere frees (seen as "Expected false to be true" from Scalar::toFloat).
        var x = keys.call(keyIds)
            .add(text, One)
            .add(positions.call(arange(s, device: keyIds.device)).unsqueeze(0), One);
        // Padding keys may not be attended to.
        var padBias = keyIds.eq(Zero).to(ScalarType.Float32).mul(PadPenalty).view(b, 1, 1, s);
        int dh = _dim / _heads;
        for (int l = 0; l < qkv.Count; l++)
        {
            var parts = qkv[l].call(x).view(b, s, 3, _heads, dh).permute(2, 0, 3, 1, 4); // 3, B, H, S, dh
            var attn = nn.functional.softmax(
                parts[0].matmul(parts[1].transpose(-2, -1)).mul(_attentionScale).add(padBias, One),
                -1
            );
            var mixed = attn.matmul(parts[2]).transpose(1, 2).reshape(b, s, _dim);
            x = norm1[l].call(x.add(proj[l].call(mixed), One));
            x = norm2[l].call(x.add(ff2[l].call(nn.functional.gelu(ff1[l].call(x))), One));
        }
        return (x, head.call(x));
    }
}
