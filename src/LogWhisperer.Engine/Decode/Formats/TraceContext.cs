using System.Buffers;
using System.Globalization;

namespace LogWhisperer.Decode.Formats;

/// <summary>
/// Finds the trace and span ids a log line carries: as labels or JSON fields (<c>traceID</c>, <c>trace_id</c>,
/// <c>traceId</c>, <c>span_id</c>…, the names Loki, OpenTelemetry and the common log libraries use) or in the
/// text (<c>trace_id=4bf9…</c>, <c>TraceID: 4bf9… SpanID: 00f0…</c>, <c>"traceId":"4bf9…"</c>).
/// </summary>
internal static class TraceContext
{
    private static readonly string[] TraceKeys =
    [
        "traceID",
        "trace_id",
        "traceId",
        "TraceID",
        "TraceId",
        "trace.id",
        "otelTraceID",
        "dd.trace_id",
    ];
    private static readonly string[] SpanKeys =
    [
        "spanID",
        "span_id",
        "spanId",
        "SpanID",
        "SpanId",
        "span.id",
        "otelSpanID",
        "dd.span_id",
    ];

    private static readonly byte[][] TraceKeysUtf8 = TraceKeys.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();
    private static readonly byte[][] SpanKeysUtf8 = SpanKeys.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();

    /// <summary>
    /// Ids from name/value pairs read off the wire one by one (Loki's structured metadata), as <see cref="From"/>
    /// finds them in a dictionary — the first key of <see cref="TraceKeys"/> / <see cref="SpanKeys"/> with a valid
    /// id wins — without a dictionary and strings per line: only a matching value is decoded.
    /// </summary>
    internal struct PairScan
    {
        private int _traceRank,
            _spanRank;
        public string? Trace { get; private set; }
        public string? Span { get; private set; }

        /// <summary>Any pair was added: the entry has structured metadata (then the stream's labels are not
        /// consulted).</summary>
        public bool Any { get; private set; }

        public PairScan()
        {
            _traceRank = _spanRank = int.MaxValue;
        }

        public void Add(ReadOnlySpan<byte> utf8Name, ReadOnlySpan<byte> utf8Value)
        {
            Any = true;
            if (Rank(TraceKeysUtf8, utf8Name) is var t && t < _traceRank && Valid(utf8Value) is { } trace)
            {
                Trace = trace;
                _traceRank = t;
            }
            else if (Rank(SpanKeysUtf8, utf8Name) is var s && s < _spanRank && Valid(utf8Value) is { } span)
            {
                Span = span;
                _spanRank = s;
            }
        }

        private static int Rank(byte[][] keys, ReadOnlySpan<byte> name)
        {
            for (int i = 0; i < keys.Length; i++)
                if (name.SequenceEqual(keys[i]))
                    return i;
            return int.MaxValue;
        }

        private static string? Valid(ReadOnlySpan<byte> utf8Value)
        {
            var value = System.Text.Encoding.UTF8.GetString(utf8Value);
            return IsId(value) ? value.ToLowerInvariant() : null;
        }
    }

    /// <summary>Ids from labels or fields, else from the line's text; null where there is none.</summary>
    public static (string? TraceId, string? SpanId) From(IReadOnlyDictionary<string, string>? labels, string line)
    {
        string? trace = null,
            span = null;
        if (labels is not null)
        {
            foreach (var k in TraceKeys)
                if (labels.TryGetValue(k, out var v) && IsId(v))
                {
                    trace = v.ToLowerInvariant();
                    break;
                }
            foreach (var k in SpanKeys)
                if (labels.TryGetValue(k, out var v) && IsId(v))
                {
                    span = v.ToLowerInvariant();
                    break;
                }
        }
        if (trace is null)
            (trace, span) = FromText(line, span);
        return (trace, span);
    }

    /// <summary>
    /// Ids written in the text of a line: a key such as trace_id / traceId / TraceID / trace-id, optionally quoted,
    /// then = or :, then a hex id (16–32 digits, or a UUID with dashes) that is not itself a prefix of a longer
    /// word; all-zero ids (no trace) do not count. Span ids likewise, 8–16 hex digits. A span scan, not a regex:
    /// most shipped lines carry ids (measured on the simulator's Loki push: the two regexes cost about half of the
    /// decoding time and allocated a Match per line), and only the ids found are allocated.
    /// </summary>
    public static (string? TraceId, string? SpanId) FromText(string line, string? span = null)
    {
        var text = line.AsSpan();
        var trace = FindId(text, "trace", 16, 32, uuid: true);
        if (trace.IsEmpty)
            return (null, span);
        if (span is null && FindId(text, "span", 8, 16, uuid: false) is { IsEmpty: false } s)
            span = Lower(s);
        return (Lower(trace), span);
    }

    /// <summary>The id after the first "KEY[_.-]id" (any case) of the text that is followed by one, else
    /// empty.</summary>
    private static ReadOnlySpan<char> FindId(ReadOnlySpan<char> text, string key, int minHex, int maxHex, bool uuid)
    {
        for (int from = 0; from < text.Length; )
        {
            int at = text[from..].IndexOf(key, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
                return default;
            at += from;
            from = at + 1;
            if (at > 0 && IsWordChar(text[at - 1]))
                continue; // "\b": not the end of a longer word (e.g. "subtrace_id")
            int i = at + key.Length;
            if (i < text.Length && text[i] is '_' or '.' or '-')
                i++;
            if (i + 2 > text.Length || !text.Slice(i, 2).Equals("id", StringComparison.OrdinalIgnoreCase))
                continue;
            i += 2;
            if (i < text.Length && text[i] == '"')
                i++;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
                i++;
            if (i >= text.Length || text[i] is not ('=' or ':'))
                continue;
            i++;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
                i++;
            if (i < text.Length && text[i] == '"')
                i++;
            if (Id(text[i..], minHex, maxHex, uuid) is { IsEmpty: false } id)
                return id;
        }
        return default;
    }

    /// <summary>A hex id at the start of the text, ending at a word boundary and not all zeros; else empty.</summary>
    private static ReadOnlySpan<char> Id(ReadOnlySpan<char> text, int minHex, int maxHex, bool uuid)
    {
        int zeros = 0;
        while (zeros < text.Length && text[zeros] == '0')
            zeros++;
        if (zeros > 0 && Boundary(text, zeros))
            return default; // "0000…" then the end of the word: no trace
        int hex = HexRun(text);
        if (hex >= minHex && hex <= maxHex && Boundary(text, hex))
            return text[..hex];
        if (!uuid || text.Length < 36)
            return default;
        // 8-4-4-4-12
        int p = 0;
        foreach (int group in (ReadOnlySpan<int>)[8, 4, 4, 4, 12])
        {
            if (p > 0)
            {
                if (text[p] != '-')
                    return default;
                p++;
            }
            if (HexRun(text.Slice(p, group)) != group)
                return default;
            p += group;
        }
        return Boundary(text, p) ? text[..p] : default;
    }

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");
    private static readonly SearchValues<char> IdChars = SearchValues.Create("0123456789abcdefABCDEF-");

    private static int HexRun(ReadOnlySpan<char> text)
    {
        int n = text.IndexOfAnyExcept(HexDigits);
        return n < 0 ? text.Length : n;
    }

    /// <summary>Whether a word ends at <paramref name="end"/> (the regex \b after a word character).</summary>
    private static bool Boundary(ReadOnlySpan<char> text, int end) => end >= text.Length || !IsWordChar(text[end]);

    /// <summary>.NET regex's \w: letters, decimal digits, connector punctuation (_) and non-spacing marks.</summary>
    private static bool IsWordChar(char c) =>
        char.IsLetterOrDigit(c)
        || char.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.NonSpacingMark;

    private static string Lower(ReadOnlySpan<char> id)
    {
        Span<char> lower = stackalloc char[id.Length];
        id.ToLowerInvariant(lower);
        return new string(lower);
    }

    private static bool IsId(string v) =>
        v.Length is >= 8 and <= 64
        && v.AsSpan().IndexOfAnyExcept(IdChars) < 0
        && v.AsSpan().IndexOfAnyExcept("0-") >= 0;
}
