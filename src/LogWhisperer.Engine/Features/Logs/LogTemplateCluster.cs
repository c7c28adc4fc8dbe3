namespace LogWhisperer.Features.Logs;

/// <summary>
/// One mined template: a stable id, its tokens (constant text or <c>&lt;*&gt;</c>) and how many lines matched it.
/// The tree path it was filed under is kept so that a restored parser routes lines exactly as before.
/// </summary>
public sealed class LogTemplateCluster
{
    internal LogTemplateCluster(int id, ulong[] path, ulong[] keys, string[] tokens)
    {
        Id = id; Path = path; Keys = keys; Tokens = tokens;
    }

    public int Id { get; }
    public IReadOnlyList<string> TokenTexts => Tokens;
    public long Count { get; internal set; }
    public string Text => string.Join(' ', Tokens);

    internal ulong[] Path { get; }
    internal ulong[] Keys { get; }
    internal string[] Tokens { get; }
    internal long LastSeen { get; set; }
}
