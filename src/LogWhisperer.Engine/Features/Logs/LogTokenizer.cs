namespace LogWhisperer.Features.Logs;

/// <summary>
/// Splits a log line into whitespace tokens and gives each the 64-bit key of its <em>masked</em> form, without
/// allocating. Masking is what lets lines that differ only in their variables meet in one template:
/// <list type="bullet">
/// <item>a whole token becomes <c>&lt;*&gt;</c> when it is a hex number (<c>0x1f</c>), a UUID or other long
/// hex/dash id (<c>f3d4d4ef-693b-…</c>, <c>2005-06-03</c>), or a path (<c>/etc/httpd/conf</c>);</item>
/// <item>otherwise every run of digits inside a token becomes <c>&lt;*&gt;</c>, so the token's constant part
/// survives: <c>blk_-695</c> → <c>blk_-&lt;*&gt;</c>, <c>rhost=10.0.0.1</c> → <c>rhost=&lt;*&gt;.&lt;*&gt;.&lt;*&gt;.&lt;*&gt;</c>.</item>
/// </list>
/// The key is FNV-1a over the masked text, so it can be recomputed from a stored template's text.
/// </summary>
public static class LogTokenizer
{
    public const string Wildcard = "<*>";
    /// <summary>Key of a token that is entirely a variable.</summary>
    public static readonly ulong WildcardKey = KeyOf(Wildcard);

    /// <summary>One token: where it is in the line, its masked key, and whether masking touched it.</summary>
    public readonly record struct Token(int Start, int Length, ulong Key, bool Masked);

    /// <summary>Tokenizes <paramref name="line"/> into <paramref name="tokens"/> (at most its length); returns the count.</summary>
    public static int Tokenize(ReadOnlySpan<char> line, Span<Token> tokens)
    {
        int count = 0, i = 0, n = line.Length;
        while (i < n && count < tokens.Length)
        {
            while (i < n && char.IsWhiteSpace(line[i])) i++;
            int start = i;
            while (i < n && !char.IsWhiteSpace(line[i])) i++;
            if (i == start) break;
            var token = line[start..i];
            if (IsWholeVariable(token)) tokens[count++] = new Token(start, i - start, WildcardKey, true);
            else
            {
                ulong key = MaskedKey(token, out bool masked);
                tokens[count++] = new Token(start, i - start, key, masked);
            }
        }
        return count;
    }

    /// <summary>The masked text of one token, as a template shows it.</summary>
    public static string MaskedText(ReadOnlySpan<char> token)
    {
        if (IsWholeVariable(token)) return Wildcard;
        var sb = new System.Text.StringBuilder(token.Length + 4);
        for (int i = 0; i < token.Length; i++)
        {
            if (char.IsAsciiDigit(token[i]))
            {
                while (i + 1 < token.Length && char.IsAsciiDigit(token[i + 1])) i++;
                sb.Append(Wildcard);
            }
            else sb.Append(token[i]);
        }
        return sb.ToString();
    }

    /// <summary>FNV-1a of a token's text as given (already masked, e.g. read back from a stored template).</summary>
    public static ulong KeyOf(ReadOnlySpan<char> maskedText)
    {
        ulong h = Offset;
        foreach (char c in maskedText) h = Mix(h, c);
        return h;
    }

    private static ulong MaskedKey(ReadOnlySpan<char> token, out bool masked)
    {
        ulong h = Offset; masked = false;
        for (int i = 0; i < token.Length; i++)
        {
            char c = token[i];
            if (char.IsAsciiDigit(c))
            {
                while (i + 1 < token.Length && char.IsAsciiDigit(token[i + 1])) i++;
                h = Mix(Mix(Mix(h, '<'), '*'), '>');
                masked = true;
            }
            else h = Mix(h, c);
        }
        return h;
    }

    /// <summary>Hex numbers, UUID-like ids (hex digits and dashes with a digit, 8+ long) and paths.</summary>
    internal static bool IsWholeVariable(ReadOnlySpan<char> t)
    {
        if (t.Length >= 3 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && char.IsAsciiHexDigit(t[2])) return true;
        if (t.Length > 1 && t[0] == '/' && t[1..].IndexOf('/') >= 0) return true;
        if (t.Length < 8) return false;
        bool digit = false;
        foreach (char c in t)
        {
            if (char.IsAsciiDigit(c)) digit = true;
            else if (!char.IsAsciiHexDigit(c) && c != '-') return false;
        }
        return digit;
    }

    private const ulong Offset = 14695981039346656037UL;
    private static ulong Mix(ulong h, char c) => (h ^ c) * 1099511628211UL;
}
