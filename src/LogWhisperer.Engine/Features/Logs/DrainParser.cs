using System.Runtime.InteropServices;

namespace LogWhisperer.Features.Logs;

/// <summary> A streaming Drain template miner (He et al., ICWS 2017) for one log source, with a repair step for what a
/// fixed-depth tree gets wrong. A line is tokenized and masked (<see cref="LogTokenizer"/>), routed through a
/// fixed-depth prefix tree by its token count and first tokens (plain words only: a first token that is a variable or a
/// name routes as <c>&lt;*&gt;</c>), and joins the most similar template in that leaf when enough tokens agree and at
/// most <see cref="DrainOptions.MaxConflicts"/> constant tokens disagree (two names that disagree count half);
/// positions that disagree become <c>&lt;*&gt;</c>. A line that matches nothing in its leaf is, before it founds a
/// template, looked up by its <em>variable-collapsed signature</em> — its masked tokens with every run of repeated
/// variable tokens folded into one — so a line whose length varies with a variable (a list of block ids, of addresses)
/// or whose first tokens routed it elsewhere joins the template it belongs to as a new <em>shape</em> of it (same id).
/// Template ids are assigned once and never change or get reused; they survive <see cref="DrainStateFile"/> save/load.
/// A line whose masked tokens equal a recent line's (a small direct-mapped table of sequence hashes) gets that line's
/// template without a tree search, so identical masked lines always share an id. Memory is bounded by
/// <see cref="DrainOptions.MaxTemplates"/> (least recently matched templates are evicted) and
/// <see cref="DrainOptions.MaxChildren"/>. Matching a line to a known template allocates nothing. Not thread-safe: use
/// one parser per service and stage.
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

    /// <summary>Variable-collapsed signature → template: the repair step's index (written only when templates
    /// change).</summary>
    private readonly Dictionary<ulong, LogTemplateCluster> _bySignature = [];

    /// <summary>Recently seen masked-token sequences and the template (or shape) they matched; cleared on
    /// eviction.</summary>
    private readonly (ulong Sequence, LogTemplateCluster? Cluster)[] _recent = new (ulong, LogTemplateCluster?)[
        RecentSize
    ];
    private const int RecentSize = 4096;
    private readonly LogTokenizer.Token[] _tokens;
    private readonly ulong[] _path;
    private long _clock;

    public DrainParser(DrainOptions? options = null)
    {
        Options = options ?? new DrainOptions();
        if (Options.Depth < 3)
            throw new ArgumentException("Drain depth must be at least 3", nameof(options));
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
        _clock++;
        isNew = false;

        // A line whose masked tokens equal a recent line's gets that line's template without a search.
        ulong sequence = Sequence(tokens);
        ref var recent = ref _recent[(int)(sequence & (RecentSize - 1))];
        if (recent.Sequence == sequence && recent.Cluster is { } known && known.Keys.Length == n)
        {
            Merge(known, line, tokens); // keys already agree; only tokens shown as first seen may change
            return Seen(known.Template);
        }

        int pathLength = Math.Min(_path.Length, n);
        // Only plain words route; a variable or a name (host, class, service) would split one event by its value.
        for (int i = 0; i < pathLength; i++)
            _path[i] = tokens[i].Word ? tokens[i].Key : LogTokenizer.WildcardKey;
        var path = _path.AsSpan(0, pathLength);

        var leaf = FindLeaf(n, path);
        var best = leaf is null ? null : BestMatch(leaf, tokens);
        if (best is not null)
        {
            if (Merge(best, line, tokens))
                _bySignature.TryAdd(Signature(best), best.Template);
        }
        // Repair: the same template with a variable of another length, or routed by a variable first token.
        else if (_bySignature.TryGetValue(Signature(tokens), out var template) && _byId.ContainsKey(template.Id))
            best = AddShape(line, tokens, path, template);
        else
        {
            isNew = true;
            best = Add(line, tokens, path);
        }
        recent = (sequence, best);
        return Seen(best.Template);
    }

    /// <summary>A hash of the line's masked keys in order.</summary>
    private static ulong Sequence(ReadOnlySpan<LogTokenizer.Token> tokens)
    {
        ulong h = 14695981039346656037UL ^ (ulong)tokens.Length;
        foreach (var t in tokens)
            h = (System.Numerics.BitOperations.RotateLeft(h, 7) ^ t.Key) * 1099511628211UL;
        return h;
    }

    private LogTemplateCluster Seen(LogTemplateCluster template)
    {
        template.Count++;
        template.LastSeen = _clock;
        return template;
    }

    /// <summary>Files a restored template or shape under its recorded path (used by
    /// <see cref="DrainStateFile"/>).</summary>
    internal void Restore(LogTemplateCluster cluster, int nextId)
    {
        Insert(cluster.Keys.Length, cluster.Path, forced: true).Leaf!.Add(cluster);
        var template = cluster.Template;
        if (template == cluster)
            _byId[cluster.Id] = cluster;
        else
            (template.Shapes ??= []).Add(cluster);
        _bySignature.TryAdd(Signature(cluster), template);
        NextId = Math.Max(Math.Max(NextId, nextId), cluster.Id + 1);
    }

    /// <summary>Restores the id counter of a parser that had (or kept) no templates.</summary>
    internal void Restore(int nextId) => NextId = Math.Max(NextId, nextId);

    private Node? FindLeaf(int length, ReadOnlySpan<ulong> path)
    {
        if (!_byLength.TryGetValue(length, out var node))
            return null;
        foreach (ulong key in path)
        {
            if (node.Children is null)
                return null;
            if (
                !node.Children.TryGetValue(key, out var next)
                && !node.Children.TryGetValue(LogTokenizer.WildcardKey, out next)
            )
                return null;
            node = next;
        }
        return node;
    }

    /// <summary>
    /// The template in the leaf with the largest share of equal tokens (a variable meets a variable as equal),
    /// ties to the more general one; null when the best share is under the threshold or more constant tokens
    /// disagree than one line may generalise.
    /// </summary>
    private LogTemplateCluster? BestMatch(Node leaf, ReadOnlySpan<LogTokenizer.Token> tokens)
    {
        if (leaf.Leaf is null)
            return null;
        LogTemplateCluster? best = null;
        int bestSame = -1,
            bestWild = -1;
        // in half conflicts
        int budget = Options.MaxConflicts >= int.MaxValue / 2 ? int.MaxValue : 2 * Options.MaxConflicts;
        foreach (var c in CollectionsMarshal.AsSpan(leaf.Leaf))
        {
            int same = 0,
                wild = 0,
                conflicts = 0;
            var keys = c.Keys;
            var words = c.Words;
            for (int i = 0; i < tokens.Length; i++)
            {
                ulong key = keys[i];
                if (key == tokens[i].Key)
                    same++;
                else if (key == LogTokenizer.WildcardKey)
                    wild++;
                // Two names (neither a plain word) disagreeing cost half a conflict: names are usually variables.
                else if (
                    tokens[i].Key != LogTokenizer.WildcardKey
                    && (conflicts += words[i] || tokens[i].Word ? 2 : 1) > budget
                )
                    break;
            }
            if (conflicts > budget)
                continue;
            if (same > bestSame || (same == bestSame && wild > bestWild))
            {
                best = c;
                bestSame = same;
                bestWild = wild;
            }
        }
        double sim = tokens.Length == 0 ? 1 : (double)bestSame / tokens.Length;
        return sim >= Options.SimilarityThreshold ? best : null;
    }

    /// <summary>
    /// Turns the positions where the line disagrees into wildcards; true when the template changed. A token shown
    /// as first seen (a number inside a word: <c>ssh2</c>) shows its masked form once a line differs there.
    /// </summary>
    private static bool Merge(LogTemplateCluster c, ReadOnlySpan<char> line, ReadOnlySpan<LogTokenizer.Token> tokens)
    {
        var keys = c.Keys;
        bool changed = false;
        for (int i = 0; i < tokens.Length; i++)
        {
            if (keys[i] != tokens[i].Key && keys[i] != LogTokenizer.WildcardKey)
            {
                keys[i] = LogTokenizer.WildcardKey;
                c.Tokens[i] = LogTokenizer.Wildcard;
                changed = true;
            }
            else if (c.Literal is { } literal && literal[i])
            {
                var token = line.Slice(tokens[i].Start, tokens[i].Length);
                if (token.SequenceEqual(c.Tokens[i]))
                    continue;
                c.Tokens[i] = LogTokenizer.MaskedText(token);
                literal[i] = false;
            }
        }
        return changed;
    }

    private LogTemplateCluster Add(
        ReadOnlySpan<char> line,
        ReadOnlySpan<LogTokenizer.Token> tokens,
        ReadOnlySpan<ulong> path
    )
    {
        if (_byId.Count >= Options.MaxTemplates)
            EvictLeastRecent();
        var cluster = File(line, tokens, path, NextId++, template: null);
        _byId[cluster.Id] = cluster;
        _bySignature.TryAdd(Signature(cluster), cluster);
        return cluster;
    }

    private LogTemplateCluster AddShape(
        ReadOnlySpan<char> line,
        ReadOnlySpan<LogTokenizer.Token> tokens,
        ReadOnlySpan<ulong> path,
        LogTemplateCluster template
    )
    {
        var shape = File(line, tokens, path, template.Id, template);
        (template.Shapes ??= []).Add(shape);
        return shape;
    }

    /// <summary>Creates a template (or a shape of <paramref name="template"/>) from the line and files it in the
    /// tree.</summary>
    private LogTemplateCluster File(
        ReadOnlySpan<char> line,
        ReadOnlySpan<LogTokenizer.Token> tokens,
        ReadOnlySpan<ulong> path,
        int id,
        LogTemplateCluster? template
    )
    {
        var keys = new ulong[tokens.Length];
        var texts = new string[tokens.Length];
        bool[]? literal = null;
        for (int i = 0; i < tokens.Length; i++)
        {
            keys[i] = tokens[i].Key;
            var token = line.Slice(tokens[i].Start, tokens[i].Length);
            texts[i] = LogTokenizer.MaskedText(token);
            // A digit inside a word may be part of a name (ssh2, jk2_init): show it as seen until a line differs.
            if (tokens[i].Masked && LogTokenizer.HasOnlyDigitsOfNames(token))
            {
                texts[i] = token.ToString();
                (literal ??= new bool[tokens.Length])[i] = true;
            }
        }
        var node = Insert(tokens.Length, path, forced: false);
        var cluster = new LogTemplateCluster(id, RoutedPath(tokens.Length, path), keys, texts, template)
        {
            Literal = literal,
        };
        node.Leaf!.Add(cluster);
        return cluster;
    }

    /// <summary>The line's variable-collapsed signature: masked tokens, each run of one repeated variable token counted
    /// once.</summary>
    private static ulong Signature(ReadOnlySpan<LogTokenizer.Token> tokens)
    {
        var s = new SignatureHash();
        foreach (var t in tokens)
            s.Add(t.Key, t.Masked);
        return s.Value;
    }

    private static ulong Signature(LogTemplateCluster c)
    {
        var s = new SignatureHash();
        for (int i = 0; i < c.Keys.Length; i++)
            s.Add(
                c.Keys[i],
                c.Literal?[i] == true || c.Tokens[i].Contains(LogTokenizer.Wildcard, StringComparison.Ordinal)
            );
        return s.Value;
    }

    private struct SignatureHash()
    {
        private ulong _last;
        private bool _lastVariable;
        public ulong Value { get; private set; } = 14695981039346656037UL;

        public void Add(ulong key, bool variable)
        {
            if (variable && _lastVariable && key == _last)
                return; // a list of like variables counts once
            Value = (System.Numerics.BitOperations.RotateLeft(Value, 5) ^ key) * 1099511628211UL;
            _last = key;
            _lastVariable = variable;
        }
    }

    /// <summary>The keys actually taken from the root to the leaf (a full node sends new tokens to the wildcard
    /// child).</summary>
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
        if (!_byLength.TryGetValue(length, out var node))
            _byLength[length] = node = new Node();
        foreach (ulong key in path)
        {
            node.Children ??= [];
            if (!node.Children.TryGetValue(key, out var next))
            {
                // A full node files further new tokens under the wildcard child, which bounds the tree's width.
                ulong k = forced || node.Children.Count < Options.MaxChildren - 1 ? key : LogTokenizer.WildcardKey;
                if (!node.Children.TryGetValue(k, out next))
                    node.Children[k] = next = new Node();
            }
            node = next;
        }
        node.Leaf ??= [];
        return node;
    }

    private void EvictLeastRecent()
    {
        LogTemplateCluster? victim = null;
        foreach (var c in _byId.Values)
            if (victim is null || c.LastSeen < victim.LastSeen)
                victim = c;
        if (victim is null)
            return;
        _byId.Remove(victim.Id);
        FindLeaf(victim.Keys.Length, victim.Path)?.Leaf?.Remove(victim);
        foreach (var shape in victim.Shapes ?? [])
            FindLeaf(shape.Keys.Length, shape.Path)?.Leaf?.Remove(shape);
        foreach (var (signature, template) in _bySignature)
            if (template == victim)
                _bySignature.Remove(signature);
        Array.Clear(_recent);
        Evicted++;
    }
}
