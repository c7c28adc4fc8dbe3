using System.Text;

namespace LogWhisperer.Features;

/// <summary>The masked form of a log line for people (explanations): tokens with digits (ids, durations,
/// addresses) become &lt;*&gt;. Template mining itself is Drain's (<see cref="Logs.TemplateMiner"/>).</summary>
internal static class LogTemplate
{
    /// <summary>The masked form of a line, for people: variable tokens become &lt;*&gt;.</summary>
    public static string Mask(string line)
    {
        var sb = new StringBuilder(line.Length);
        foreach (var token in line.Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (sb.Length > 0)
                sb.Append(' ');
            sb.Append(token.Any(char.IsAsciiDigit) ? "<*>" : token);
        }
        return sb.ToString();
    }
}
