using System.Text;

namespace LogWhisperer.Features.Logs;

/// <summary>
/// Splits a log line into whitespace tokens and gives each the 64-bit key of its <em>masked</em> form, without
/// allocating. Masking is what lets lines that differ only in their variables meet in one template. It is
/// generic (no per-system patterns); a token is looked at in this order:
/// <list type="number">
/// <item><b>Whole variables</b> become <c>&lt;*&gt;</c>: anything that starts with a digit (numbers with units
/// <c>12ms</c> <c>3.5GB</c>, durations, IPs and ports <c>10.0.0.1:8080</c>, dates and times, <c>0x1f</c>);
/// hex/UUID-like ids (hex digits and dashes with a digit, 8+ long); paths (<c>/etc/httpd/conf</c>,
/// <c>/10.0.0.1:50010</c>, <c>C:\Windows\…</c>) and URLs (<c>http://…</c>); endpoints (<c>www.example.com:443</c>);
/// day and month names of timestamps (<c>Sat</c>, <c>Jun</c>); quoted strings (<c>'abc'</c>, <c>"x y"</c> when it is
/// one token).</item>
/// <item><b>key=value</b>: the key stays, the value becomes <c>&lt;*&gt;</c> (<c>rhost=10.0.0.1</c> →
/// <c>rhost=&lt;*&gt;</c>, <c>tty=ssh</c> → <c>tty=&lt;*&gt;</c>); an empty value stays empty.</item>
/// <item>Otherwise every <b>number inside the token</b> becomes <c>&lt;*&gt;</c> — a digit run together with the
/// <c>. : , -</c> separators between digits, so <c>1.5</c> and <c>15</c> mask alike — and the token's constant
/// part survives: <c>blk_-695</c> → <c>blk_-&lt;*&gt;</c>, <c>onExtend:1514038530000</c> →
/// <c>onExtend:&lt;*&gt;</c>.</item>
/// </list>
/// A trailing <c>, ; .</c> or closing bracket is kept as constant text after a whole variable
/// (<c>10.0.0.1,</c> → <c>&lt;*&gt;,</c>), so the punctuation of the sentence is not lost.
/// The key is FNV-1a over the masked text, so it can be recomputed from a stored template's text.
/// </summary>
internal static class LogTokenizer
{
    public const string Wildcard = "<*>";

    /// <summary>Key of a token that is entirely a variable.</summary>
    public static readonly ulong WildcardKey = KeyOf(Wildcard);

    /// <summary>
    /// One token: where it is in the line, its masked key, whether masking touched it, and whether it is a plain
    /// word (<see cref="IsPlainWord"/>).
    /// </summary>
    public readonly record struct Token(int Start, int Length, ulong Key, bool Masked, bool Word = false);

    /// <summary>
    /// Tokenizes <paramref name="line"/> into <paramref name="tokens"/> (at most its length); returns the count. In a
    /// multi-line record the stack-trace frames after the first line are left out (<see cref="SkipStackFrames"/>): the
    /// event is the message and the exception, not the call path that happened to raise it, and a trace's depth would
    /// otherwise make every throw site its own template.
    /// </summary>
    public static int Tokenize(ReadOnlySpan<char> line, Span<Token> tokens)
    {
        int count = 0,
            i = 0,
            n = line.Length;
        while (i < n && count < tokens.Length)
        {
            while (i < n && IsSpace(line[i]))
                if (line[i++] == '\n')
                    i = SkipStackFrames(line, i);
            if (i == n)
                break;
            int start = i;
            // One pass finds the end of the common token and keys it; any other token is finished and masked.
            if (ScanPlain(line, ref i, out ulong key, out bool word, out bool keyValue))
                tokens[count++] = new Token(start, i - start, key, keyValue, word);
            else
            {
                i = TokenEnd(line, i);
                var token = line[start..i];
                var hash = new Fnv();
                bool masked = Mask(token, ref hash);
                tokens[count++] = new Token(start, i - start, hash.Value, masked, !masked && IsPlainWord(token));
            }
        }
        return count;
    }

    /// <summary>
    /// From the start of a physical line, the start of the first line that is not a stack frame: Java, .NET and
    /// Node.js frames (<c>at com.x.Y.m(Y.java:42)</c>, <c>at N.C.M() in /src/C.cs:line 7</c>, <c>at /app/x.js:1:2</c>),
    /// Java's <c>... 12 more</c> and <c>... 3 common frames omitted</c>, and Python's <c>File "x.py", line 3, in f</c>
    /// with the source line indented under it. <c>Caused by: …</c> and exception lines stay.
    /// </summary>
    private static int SkipStackFrames(ReadOnlySpan<char> line, int i)
    {
        int pythonFrameIndent = -1;
        while (i < line.Length)
        {
            int indent = 0;
            while (i + indent < line.Length && line[i + indent] is ' ' or '\t')
                indent++;
            int eol = line[i..].IndexOf('\n');
            var text = line[(i + indent)..(eol < 0 ? line.Length : i + eol)].TrimEnd();
            bool frame;
            if (pythonFrameIndent >= 0 && indent > pythonFrameIndent)
            {
                frame = true;
                pythonFrameIndent = -1;
            } // the frame's source line
            else if (text.StartsWith("File \""))
            {
                frame = true;
                pythonFrameIndent = indent;
            }
            else
                frame =
                    IsJvmOrClrFrame(text)
                    || (text.StartsWith("...") && (text.EndsWith(" more") || text.EndsWith("frames omitted")));
            if (!frame)
                return i;
            if (eol < 0)
                return line.Length;
            i += eol + 1;
        }
        return i;
    }

    /// <summary><c>at</c> followed by a qualified name or a location (<c>at least once</c> is prose, not a
    /// frame).</summary>
    private static bool IsJvmOrClrFrame(ReadOnlySpan<char> text)
    {
        if (!text.StartsWith("at ") || text.Length < 4)
            return false;
        var target = text[3..];
        int end = target.IndexOfAny(' ', '\t');
        return (end < 0 ? target : target[..end]).IndexOfAny("./(<:") >= 0;
    }

    /// <summary>The index of the whitespace after the token that <paramref name="i"/> is in.</summary>
    private static int TokenEnd(ReadOnlySpan<char> line, int i)
    {
        while (i < line.Length && !IsSpace(line[i]))
            i++;
        return i;
    }

    /// <summary>The masked text of one token, as a template shows it.</summary>
    public static string MaskedText(ReadOnlySpan<char> token)
    {
        var text = new Text(new StringBuilder(token.Length + 4));
        Mask(token, ref text);
        return text.Builder.ToString();
    }

    /// <summary>FNV-1a of a token's text as given (already masked, e.g. read back from a stored template).</summary>
    public static ulong KeyOf(ReadOnlySpan<char> maskedText)
    {
        var h = new Fnv();
        h.Append(maskedText);
        return h.Value;
    }

    /// <summary>
    /// A plain word: letters only, not camelCase, perhaps followed by sentence punctuation (<c>bytes</c>,
    /// <c>RUNNING</c>, <c>failures;</c>). Words are what a sentence is made of; tokens with other characters
    /// (<c>com.apple.cts</c>, <c>SCREEN_ON</c>, <c>WindowsUpdateAgent</c>, <c>blk_&lt;*&gt;</c>) are more often names.
    /// </summary>
    public static bool IsPlainWord(ReadOnlySpan<char> t)
    {
        int end = t.Length;
        while (end > 1 && t[end - 1] is ',' or ';' or ':' or '.' or '!' or '?')
            end--;
        bool lower = false;
        for (int i = 0; i < end; i++)
        {
            char c = t[i];
            if (char.IsAsciiLetterLower(c))
                lower = true;
            else if (!char.IsAsciiLetterUpper(c) || lower)
                return false; // not a letter, or an upper case letter after a lower case one
        }
        return end > 0;
    }

    /// <summary>
    /// Whether the token's numbers are single digits inside a word, as in names (<c>ssh2</c>, <c>jk2_init()</c>,
    /// <c>log4j</c>), rather than values: no whole variable, no key=value, no run of two digits or more.
    /// </summary>
    internal static bool HasOnlyDigitsOfNames(ReadOnlySpan<char> token)
    {
        if (KeyValueSplit(token) > 0 || WholeVariableLength(token, 0) > 0)
            return false;
        for (int i = 1; i < token.Length; i++)
            if (char.IsAsciiDigit(token[i]) && char.IsAsciiDigit(token[i - 1]))
                return false;
        return true;
    }

    /// <summary>
    /// The fast path for the most common tokens: one that masking cannot change (no digit, a <c>:</c> only at its
    /// end as in <c>src:</c>, no path, quote or calendar word), and <c>key=value</c> with a key of letters and
    /// <c>_ . -</c>. Scans from <paramref name="i"/> to the token's end (the next whitespace), giving its key, whether
    /// it is a plain word and whether it was a key=value (masked); false (with <paramref name="i"/> inside the token)
    /// sends the token through <see cref="Mask"/>, which gives the same key for anything this path takes.
    /// </summary>
    private static bool ScanPlain(ReadOnlySpan<char> line, ref int i, out ulong key, out bool word, out bool keyValue)
    {
        key = 0;
        word = false;
        keyValue = false;
        int start = i;
        char first = line[i];
        if (first is '/' or '~' or '"' or '\'')
            return false;
        bool lower = false,
            suffix = false,
            plain = char.IsAsciiLetter(first);
        for (; i < line.Length; i++)
        {
            char c = line[i];
            if (char.IsAsciiLetterLower(c))
            {
                lower = true;
                plain &= !suffix;
            }
            else if (char.IsAsciiLetterUpper(c))
                plain &= !suffix && !lower; // camelCase is a name
            else if (IsSpace(c))
                break;
            else if (char.IsAsciiDigit(c))
                return false;
            else if (c == '=')
            {
                // key=value, the other common token (status=200, trace_id=…): the key and "=" stay, the value is <*>.
                int end = TokenEnd(line, i);
                if (KeyValueSplit(line[start..end]) == 0)
                    return false; // the same test Mask makes
                var kv = new Fnv();
                kv.Append(line[start..(i + 1)]);
                kv.PutWildcard();
                i = end;
                key = kv.Value;
                keyValue = true;
                return true;
            }
            else if (c == ':')
            {
                if (i + 1 < line.Length && !IsSpace(line[i + 1]))
                    return false;
                suffix = true;
            } // only a final colon: host:port, C:\, URLs mask
            else if (c is ',' or ';' or '.' or '!' or '?')
                suffix = true;
            else
                plain = false;
        }
        if (char.IsAsciiLetterUpper(first) && i - start >= 3 && IsCalendarToken(line[start..i]))
            return false; // Jun, Sat. are variables
        var h = new Fnv();
        h.Append(line[start..i]);
        key = h.Value;
        word = plain;
        return true;
    }

    /// <summary>Writes the masked form of <paramref name="t"/> to <paramref name="sink"/>; true when anything was
    /// masked.</summary>
    private static bool Mask<TSink>(ReadOnlySpan<char> t, ref TSink sink)
        where TSink : struct, ISink
    {
        int eq = KeyValueSplit(t);
        int whole = WholeVariableLength(t, eq);
        if (whole > 0)
        {
            sink.PutWildcard();
            foreach (char c in t[whole..])
                sink.Put(c);
            return true;
        }
        if (eq > 0)
        {
            foreach (char c in t[..(eq + 1)])
                sink.Put(c);
            sink.PutWildcard();
            return true;
        }
        return MaskNumbers(t, ref sink);
    }

    /// <summary>The index of the <c>=</c> of a key=value token with a non-empty value; 0 when it is not one.</summary>
    private static int KeyValueSplit(ReadOnlySpan<char> t)
    {
        int eq = t.IndexOf('=');
        return eq > 0 && eq < t.Length - 1 && IsKey(t[..eq]) ? eq : 0;
    }

    /// <summary>Digit runs (with the separators between digits) become one wildcard each.</summary>
    private static bool MaskNumbers<TSink>(ReadOnlySpan<char> t, ref TSink sink)
        where TSink : struct, ISink
    {
        bool masked = false;
        for (int i = 0; i < t.Length; i++)
        {
            char c = t[i];
            // A sign belongs to the number when it does not join two words (blk_-695 → blk_<*>, but a-1 keeps its
            // dash).
            bool sign =
                (c == '-' || c == '+')
                && i + 1 < t.Length
                && char.IsAsciiDigit(t[i + 1])
                && (i == 0 || !char.IsAsciiLetterOrDigit(t[i - 1]));
            if (!char.IsAsciiDigit(c) && !sign)
            {
                sink.Put(c);
                continue;
            }
            while (
                i + 1 < t.Length
                && (
                    char.IsAsciiDigit(t[i + 1])
                    || (IsNumberSeparator(t[i + 1]) && i + 2 < t.Length && char.IsAsciiDigit(t[i + 2]))
                )
            )
                i++;
            sink.PutWildcard();
            masked = true;
        }
        return masked;
    }

    /// <summary>
    /// How many leading characters of <paramref name="t"/> form one variable (0: not a whole variable); the rest
    /// is trailing punctuation kept as text. A key=value token is never a whole variable: its value is masked.
    /// </summary>
    private static int WholeVariableLength(ReadOnlySpan<char> t, int keyValueSplit)
    {
        int end = WithoutTrailingPunctuation(t);
        if (end == 0)
            return 0;
        char first = t[0];
        // Numbers, with units, signs, decimals; IPs, ports, dates, times, 0x… hex.
        if (char.IsAsciiDigit(first) || ((first == '-' || first == '+') && end > 1 && char.IsAsciiDigit(t[1])))
            return end;
        // Paths.
        if (first == '/' && end > 1 && t[1] != '/')
            return end;
        if (first == '~' && end > 1 && t[1] == '/')
            return end;
        if (end > 3 && char.IsAsciiLetter(first) && t[1] == ':' && t[2] == '\\')
            return end; // C:\Windows\…
        // Quoted strings that are one token.
        if ((first == '"' || first == '\'') && end >= 2 && t[end - 1] == first)
            return end;
        // Day and month names of timestamps (Sat Jun 18 02:08:10 2005).
        if (end == 3 && IsCalendarWord(t[..3]))
            return end;
        if (keyValueSplit > 0)
            return 0;
        // One pass for the rest: URLs, endpoints (host:port), hex / UUID-like ids.
        bool digit = false,
            hexOnly = true,
            url = false,
            dotBeforeColon = false,
            portDigits = false;
        int colon = -1,
            dot = -1;
        for (int i = 0; i < end; i++)
        {
            char c = t[i];
            if (char.IsAsciiDigit(c))
            {
                digit = true;
                continue;
            }
            portDigits = false;
            if (!char.IsAsciiHexDigit(c) && c != '-')
                hexOnly = false;
            if (c == '.' && dot < 0)
                dot = i;
            else if (c == ':')
            {
                colon = i;
                dotBeforeColon = dot > 0;
                portDigits = true; // stays true while only digits follow
                if (i > 0 && i + 2 < end && t[i + 1] == '/' && t[i + 2] == '/')
                    url = true;
            }
        }
        if (url)
            return end;
        if (colon > 0 && colon < end - 1 && dotBeforeColon && portDigits)
            return end;
        if (end >= 8 && digit && hexOnly)
            return end;
        return 0;
    }

    /// <summary>A key of key=value: a word of letters, digits, <c>_ . -</c>, starting with a letter.</summary>
    private static bool IsKey(ReadOnlySpan<char> key)
    {
        if (!char.IsAsciiLetter(key[0]))
            return false;
        foreach (char c in key)
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '.' && c != '-')
                return false;
        return true;
    }

    /// <summary>The length of <paramref name="t"/> without its trailing <c>, ; . ) ] } :</c> (at least one
    /// character).</summary>
    private static int WithoutTrailingPunctuation(ReadOnlySpan<char> t)
    {
        int end = t.Length;
        while (end > 1 && IsTrailingPunctuation(t[end - 1]))
            end--;
        return end;
    }

    /// <summary>A day or month name of a timestamp, perhaps with trailing punctuation (<c>Jun</c>,
    /// <c>Sat,</c>).</summary>
    private static bool IsCalendarToken(ReadOnlySpan<char> t) =>
        WithoutTrailingPunctuation(t) == 3 && IsCalendarWord(t[..3]);

    private static bool IsCalendarWord(ReadOnlySpan<char> w) =>
        w
            is "Mon"
                or "Tue"
                or "Wed"
                or "Thu"
                or "Fri"
                or "Sat"
                or "Sun"
                or "Jan"
                or "Feb"
                or "Mar"
                or "Apr"
                or "May"
                or "Jun"
                or "Jul"
                or "Aug"
                or "Sep"
                or "Oct"
                or "Nov"
                or "Dec";

    private static bool IsSpace(char c) => c <= ' ' || (c > 127 && char.IsWhiteSpace(c));

    private static bool IsNumberSeparator(char c) => c is '.' or ':' or ',' or '-';

    private static bool IsTrailingPunctuation(char c) => c is ',' or ';' or '.' or ')' or ']' or '}' or ':';

    private interface ISink
    {
        void Put(char c);
        void PutWildcard();
    }

    private struct Fnv : ISink
    {
        private const ulong Offset = 14695981039346656037UL;
        private ulong _h;

        public Fnv() => _h = Offset;

        public readonly ulong Value => _h;

        public void Put(char c) => _h = (_h ^ c) * 1099511628211UL;

        public void Append(ReadOnlySpan<char> text)
        {
            foreach (char c in text)
                Put(c);
        }

        public void PutWildcard()
        {
            Put('<');
            Put('*');
            Put('>');
        }
    }

    private readonly struct Text(StringBuilder builder) : ISink
    {
        public StringBuilder Builder { get; } = builder;

        public void Put(char c) => Builder.Append(c);

        public void PutWildcard() => Builder.Append(Wildcard);
    }
}
