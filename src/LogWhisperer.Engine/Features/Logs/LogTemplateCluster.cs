namespace LogWhisperer.Features.Logs;

/// <summary>
/// One mined template: a stable id, its tokens (constant text or <c>&lt;*&gt;</c>) and how many lines matched it.
/// The tree path it was filed under is kept so that a restored parser routes lines exactly as before.
/// A template may have more <em>shapes</em>: the same template seen with another token count (a list of
/// variables, one more path segment) or under another tree path. A shape is filed in the tree like a template
/// but answers with its template's id, so lines of every shape share one id.
/// </summary>
public sealed class LogTemplateCluster
{
    internal LogTemplateCluster(
        int id,
        ulong[] path,
        ulong[] keys,
        string[] tokens,
        LogTemplateCluster? template = null
    )
    {
        Id = id;
        Path = path;
        Keys = keys;
        Tokens = tokens;
        Template = template ?? this;
        Words = Array.ConvertAll(tokens, t => LogTokenizer.IsPlainWord(t));
    }

    public int Id { get; }
    public IReadOnlyList<string> TokenTexts => Tokens;
    public long Count { get; internal set; }
    public string Text => string.Join(' ', Tokens);

    internal ulong[] Path { get; }
    internal ulong[] Keys { get; }
    internal string[] Tokens { get; }

    /// <summary>Positions shown as first seen although masking would change them (null: none).</summary>
    internal bool[]? Literal { get; set; }

    /// <summary>Which tokens are plain words (<see cref="LogTokenizer.IsPlainWord"/>).</summary>
    internal bool[] Words { get; }
    internal long LastSeen { get; set; }

    /// <summary>The template this is a shape of (itself for a template).</summary>
    internal LogTemplateCluster Template { get; }

    /// <summary>A template's other shapes (null while it has none).</summary>
    internal List<LogTemplateCluster>? Shapes { get; set; }
}
