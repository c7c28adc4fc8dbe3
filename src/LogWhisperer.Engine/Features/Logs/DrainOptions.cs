namespace LogWhisperer.Features.Logs;

/// <summary>
/// Settings of the Drain template miner. One configuration serves every log source: it is chosen on Loghub
/// systems and checked on systems it was not chosen on (see docs/template-mining.md).
/// </summary>
public sealed record DrainOptions
{
    /// <summary>Tree depth including root and length layers: the first Depth-2 tokens route a line.</summary>
    public int Depth { get; init; } = 4;

    /// <summary>A line joins the most similar template in its leaf when the share of equal tokens reaches
    /// this.</summary>
    public double SimilarityThreshold { get; init; } = 0.7;

    /// <summary>Children per inner node; beyond it new tokens share the wildcard child (bounds the tree).</summary>
    public int MaxChildren { get; init; } = 100;

    /// <summary>Templates kept per parser; beyond it the least recently matched one is evicted (bounds
    /// memory).</summary>
    public int MaxTemplates { get; init; } = 10_000;

    /// <summary>Tokens of a line taken into account; the rest of a very long line is ignored.</summary>
    public int MaxTokens { get; init; } = 128;

    /// <summary>
    /// Constant tokens that one line may turn into <c>&lt;*&gt;</c> when it joins a template (positions where both
    /// hold different constant text). Drain alone generalises any number at once, which merges events that share
    /// a sentence but differ in their state words (<c>from NEW to RUNNING</c> / <c>from RUNNING to DONE</c>).
    /// </summary>
    public int MaxConflicts { get; init; } = 1;
}
