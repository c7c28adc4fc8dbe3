using System.Runtime.InteropServices;

namespace LogWhisperer.Features.Logs;

/// <summary>
/// A streaming Drain template miner (He et al., ICWS 2017) for one log source. A line is tokenized and masked
/// (<see cref="LogTokenizer"/>), routed through a fixed-depth prefix tree by its token count and first tokens,
/// and joins the most similar template in that leaf when enough tokens agree; positions that disagree become
/// <c>&lt;*&gt;</c>. Otherwise it founds a new template. Ids are never reused and survive
/// <see cref="DrainStateFile"/> save/load, so downstream keys stay stable across restarts. Memory is bounded by
/// <see cref="DrainOptions.MaxTemplates"/> (least recently matched templates are evicted) and
/// <see cref="DrainOptions.MaxChildren"/>. Not thread-safe: use one parser per service and stage.
/// </summary>
public sealed class DrainParser
{
    private sealed class Node
    {
        public Dictionary<ulong, Node>? Children;
        public List<LogTemplateCluster>? Leaf;
    }

    private readonly Dictionary<int, Node> _byLength = [];
    private readonly Dictionary<int, LogTemplateCluster> _byId = [];
    private readonly LogTokenizer.Token[] _tokens;
    private readonly ulong[] _path;
    private long _clock;

    public DrainParser(DrainOptions? options = null)
    {
        Options = options ?? new DrainOptions();
        if (Options.Depth < 3) throw new ArgumentException("Drain depth must be at least 3", nameof(options));
        _tokens = new LogTokenizer.Token[Options.MaxTokens];
        _path = new ulong[Options.Depth - 2];
    }

    public DrainOptions Options { get; }
    public int NextId { get; private set; } = 1;
    public int TemplateCount => _byId.Count;
    public long Evicted { get; private set; }
    public IEnumerable<LogTemplateCluster> Templates => _byId.Values;

    public LogTemplateCluster? Template(int id) => _byId.GetValueOrDefault(id);

    /// <summary>Assigns <paramref name="line"/> to a template (creating one if none is similar enough).</summary>
    public LogTemplateCluster Parse(ReadOnlySpan<char> line) => Parse(line, out _);

    public LogTemplateCluster Parse(ReadOnlySpan<char> line, out bool isNew)
    {
        int n = LogTokenizer.Tokenize(line, _tokens);
        var tokens = _tokens.AsSpan(0, n);
        int pathLength = Math.Min(_path.Length, n);
        for (int i = 0; i < pathLength; i++) _path[i] = tokens[i].Masked ? LogTokenizer.WildcardKey : tokens[i].Key;
        var path = _path.AsSpan(0, pathLength);

        _clock++;
        var leaf = FindLeaf(n, path);
        var best = leaf is null ? null : BestMatch(leaf, tokens);
        if (best is not null)
        {
            Merge(best, tokens);
            best.Count++;
            best.LastSeen = _clock;
            isNew = false;
            return best;
        }
        isNew = true;
        return Add(line, tokens, path);
    }

    /// <summary>Files a restored template under its recorded path (used by <see cref="DrainStateFile"/>).</summary>
    internal void Restore(LogTemplateCluster cluster, int nextId)
    {
        Insert(cluster.Keys.Length, cluster.Path, forced: true).Leaf!.Add(cluster);
        _byId[cluster.Id] = cluster;
        NextId = Math.Max(Math.Max(NextId, nextId), cluster.Id + 1);
    }

    /// <summary>Restores the id counter of a parser that had (or kept) no templates.</summary>
    internal void Restore(int nextId) => NextId = Math.Max(NextId, nextId);

    private Node? FindLeaf(int length, ReadOnlySpan<ulong> path)
    {
        if (!_byLength.TryGetValue(length, out var node)) return null;
        foreach (ulong key in path)
        {
            if (node.Children is null) return null;
            if (!node.Children.TryGetValue(key, out var next) && !node.Children.TryGetValue(LogTokenizer.WildcardKey, out next)) return null;
            node = next;
        }
        return node;
    }

    private LogTemplateCluster? BestMatch(Node leaf, ReadOnlySpan<LogTokenizer.Token> tokens)
    {
        if (leaf.Leaf is null) return null;
        LogTemplateCluster? best = null;
        double bestSim = -1; int bestParams = -1;
        foreach (var c in CollectionsMarshal.AsSpan(leaf.Leaf))
        {
            int same = 0, wild = 0;
            var keys = c.Keys;
            for (int i = 0; i < tokens.Length; i++)
            {
                if (keys[i] == LogTokenizer.WildcardKey) wild++;
                else if (keys[i] == tokens[i].Key) same++;
            }
            double sim = tokens.Length == 0 ? 1 : (double)same / tokens.Length;
            if (sim > bestSim || (sim == bestSim && wild > bestParams)) { best = c; bestSim = sim; bestParams = wild; }
        }
        return bestSim >= Options.SimilarityThreshold ? best : null;
    }

    private static void Merge(LogTemplateCluster c, ReadOnlySpan<LogTokenizer.Token> tokens)
    {
        var keys = c.Keys;
        for (int i = 0; i < tokens.Length; i++)
            if (keys[i] != tokens[i].Key && keys[i] != LogTokenizer.WildcardKey)
            {
                keys[i] = LogTokenizer.WildcardKey;
                c.Tokens[i] = LogTokenizer.Wildcard;
            }
    }

    private LogTemplateCluster Add(ReadOnlySpan<char> line, ReadOnlySpan<LogTokenizer.Token> tokens, ReadOnlySpan<ulong> path)
    {
        if (_byId.Count >= Options.MaxTemplates) EvictLeastRecent();
        var keys = new ulong[tokens.Length];
        var texts = new string[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            keys[i] = tokens[i].Key;
            texts[i] = LogTokenizer.MaskedText(line.Slice(tokens[i].Start, tokens[i].Length));
        }
        var node = Insert(tokens.Length, path, forced: false);
        var cluster = new LogTemplateCluster(NextId++, RoutedPath(tokens.Length, path), keys, texts) { Count = 1, LastSeen = _clock };
        node.Leaf!.Add(cluster);
        _byId[cluster.Id] = cluster;
        return cluster;
    }

    /// <summary>The keys actually taken from the root to the leaf (a full node sends new tokens to the wildcard child).</summary>
    private ulong[] RoutedPath(int length, ReadOnlySpan<ulong> path)
    {
        var routed = new ulong[path.Length];
        var node = _byLength[length];
        for (int i = 0; i < path.Length; i++)
        {
            routed[i] = node.Children!.ContainsKey(path[i]) ? path[i] : LogTokenizer.WildcardKey;
            node = node.Children[routed[i]];
        }
        return routed;
    }

    private Node Insert(int length, ReadOnlySpan<ulong> path, bool forced)
    {
        if (!_byLength.TryGetValue(length, out var node)) _byLength[length] = node = new Node();
        foreach (ulong key in path)
        {
            node.Children ??= [];
            if (!node.Children.TryGetValue(key, out var next))
            {
                // A full node files further new tokens under the wildcard child, which bounds the tree's width.
                ulong k = forced || node.Children.Count < Options.MaxChildren - 1 ? key : LogTokenizer.WildcardKey;
                if (!node.Children.TryGetValue(k, out next)) node.Children[k] = next = new Node();
            }
            node = next;
        }
        node.Leaf ??= [];
        return node;
    }

    private void EvictLeastRecent()
    {
        LogTemplateCluster? victim = null;
        foreach (var c in _byId.Values) if (victim is null || c.LastSeen < victim.LastSeen) victim = c;
        if (victim is null) return;
        _byId.Remove(victim.Id);
        FindLeaf(victim.Keys.Length, victim.Path)?.Leaf?.Remove(victim);
        Evicted++;
    }
}
