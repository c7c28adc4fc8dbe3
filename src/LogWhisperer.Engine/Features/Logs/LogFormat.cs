using System.Text;
using System.Text.RegularExpressions;

namespace LogWhisperer.Features.Logs;

/// <summary> A log-line header format in Loghub's notation, e.g. <c>&lt;Date&gt; &lt;Time&gt; &lt;Level&gt;
/// &lt;Component&gt;: &lt;Content&gt;</c>: it separates the header fields from the message (<c>Content</c>) that
/// templates are mined from. Spaces match any run of whitespace; other literal text is a regular expression (so
/// <c>\[</c> is a bracket). A line that does not fit is taken whole as its content.
/// </summary>
public sealed partial class LogFormat
{
    private readonly Regex _regex;

    public LogFormat(string format)
    {
        Format = format;
        var sb = new StringBuilder("^");
        int last = 0;
        foreach (Match m in FieldPattern().Matches(format))
        {
            sb.Append(SpacePattern().Replace(format[last..m.Index], @"\s+"));
            sb.Append("(?<").Append(m.Groups[1].Value).Append(">.*?)");
            last = m.Index + m.Length;
        }
        sb.Append(SpacePattern().Replace(format[last..], @"\s+")).Append('$');
        _regex = new Regex(sb.ToString(), RegexOptions.CultureInvariant);
    }

    public string Format { get; }

    public string Content(string line)
    {
        var m = _regex.Match(line);
        return m.Success && m.Groups["Content"].Success ? m.Groups["Content"].Value : line;
    }

    /// <summary>The header formats of the Loghub systems (as published with the Loghub benchmark).</summary>
    public static IReadOnlyDictionary<string, string> Loghub { get; } =
        new Dictionary<string, string>
        {
            ["HDFS"] = "<Date> <Time> <Pid> <Level> <Component>: <Content>",
            ["Hadoop"] = @"<Date> <Time> <Level> \[<Process>\] <Component>: <Content>",
            ["Spark"] = "<Date> <Time> <Level> <Component>: <Content>",
            ["Zookeeper"] = @"<Date> <Time> - <Level>  \[<Node>:<Component>@<Id>\] - <Content>",
            ["BGL"] = "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> <Content>",
            ["HealthApp"] = @"<Time>\|<Component>\|<Pid>\|<Content>",
            ["Apache"] = @"\[<Time>\] \[<Level>\] <Content>",
            ["OpenSSH"] = @"<Date> <Day> <Time> <Component> sshd\[<Pid>\]: <Content>",
        };

    [GeneratedRegex("<([A-Za-z]+)>")]
    private static partial Regex FieldPattern();

    [GeneratedRegex(" +")]
    private static partial Regex SpacePattern();
}
