using System.Text;

namespace LogWhisperer.Features;

/// <summary>
/// A light, allocation-free log template key: tokens that carry variable parts (anything with a digit:
/// ids, durations, IPs, hex, UUIDs) are masked, and the rest is hashed. Lines that differ only in their
/// variables share a key, so a template that has never been seen before stands out.
/// </summary>
public static class LogTemplate
{
    public static ulong Hash(string line)
    {
        ulong hash = 14695981039346656037UL; // FNV-1a
        int i = 0, n = line.Length;
        while (i < n)
        {
            while (i < n && IsSeparator(line[i])) i++;
            int start = i; bool variable = false;
            while (i < n && !IsSeparator(line[i])) { variable |= char.IsAsciiDigit(line[i]); i++; }
            if (i == start) break;
            if (variable) hash = Mix(hash, '\u0001');
            else for (int k = start; k < i; k++) hash = Mix(hash, line[k]);
            hash = Mix(hash, ' ');
        }
        return hash;
    }

    /// <summary>The masked form of a line, for people: variable tokens become &lt;*&gt;.</summary>
    public static string Mask(string line)
    {
        var sb = new StringBuilder(line.Length);
        foreach (var token in line.Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(token.Any(char.IsAsciiDigit) ? "<*>" : token);
        }
        return sb.ToString();
    }

    private static bool IsSeparator(char c) => c is ' ' or '\t' or '\n' or '\r';
    private static ulong Mix(ulong hash, char c) => (hash ^ c) * 1099511628211UL;
}
