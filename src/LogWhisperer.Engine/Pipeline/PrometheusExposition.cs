using System.Globalization;
using System.Text;

namespace LogWhisperer.Pipeline;

/// <summary>
/// Writes the Prometheus text exposition format 0.0.4 by hand: each family once with HELP and TYPE, then its
/// samples. Escaping follows the format: in HELP a backslash and a newline; in label values also the double quote.
/// </summary>
public sealed class PrometheusExposition
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new();
    private readonly HashSet<string> _families = [];

    public void Family(string name, string type, string help)
    {
        if (!_families.Add(name)) throw new InvalidOperationException($"metric family '{name}' written twice");
        _text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    public void Sample(string name, double value, params (string Name, string Value)[] labels)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0) _text.Append(',');
                _text.Append(labels[i].Name).Append("=\"").Append(EscapeLabelValue(labels[i].Value)).Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ').Append(FormatValue(value)).Append('\n');
    }

    /// <summary>One whole histogram family: _bucket lines (cumulative, le="+Inf" last), _sum and _count.</summary>
    public void Histogram(string name, string help, Histogram histogram)
    {
        Family(name, "histogram", help);
        var cumulative = histogram.CumulativeCounts();
        for (int i = 0; i < histogram.UpperBounds.Count; i++) Sample(name + "_bucket", cumulative[i], ("le", FormatValue(histogram.UpperBounds[i])));
        Sample(name + "_bucket", cumulative[^1], ("le", "+Inf"));
        Sample(name + "_sum", histogram.Sum);
        Sample(name + "_count", cumulative[^1]);
    }

    public override string ToString() => _text.ToString();

    public static string EscapeHelp(string s) => s.Replace("\\", "\\\\").Replace("\n", "\\n");
    public static string EscapeLabelValue(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    public static string FormatValue(double v) => double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : double.IsNaN(v) ? "NaN"
        : v.ToString("R", CultureInfo.InvariantCulture);
}
