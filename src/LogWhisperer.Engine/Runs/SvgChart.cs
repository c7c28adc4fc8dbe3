using System.Globalization;
using System.Text;

namespace LogWhisperer.Runs;

/// <summary>
/// The pieces the engine's self-contained SVG plots share (training curves, evaluation bars): a titled white
/// canvas, a plot frame with a 0..max value axis, legend entries, a palette and text escaping.
/// </summary>
internal sealed class SvgChart
{
    public static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#8c564b"];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly StringBuilder _sb = new();

    public int Width { get; }
    public int Height { get; }
    /// <summary>Plot area margins: left, right, top, bottom.</summary>
    public (int L, int R, int T, int B) Margin { get; }

    public SvgChart(int width, int height, (int L, int R, int T, int B) margin, string title)
    {
        Width = width; Height = height; Margin = margin;
        Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        Append($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/><text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{Escape(title)}</text>");
    }

    public double Left => Margin.L;
    public double Right => Width - Margin.R;
    public double Bottom => Height - Margin.B;

    /// <summary>Vertical position of a fraction (0..1, clamped) of the value axis.</summary>
    public double Y(double fraction) => Height - Margin.B - (Height - Margin.T - Margin.B) * Math.Clamp(fraction, 0, 1);

    public SvgChart Append(FormattableString svg) { _sb.Append(svg.ToString(Inv)); return this; }

    /// <summary>Bottom axis and a left value axis labelled 0..max in four steps (and a right one when asked).</summary>
    public void Frame(double leftMax, double? rightMax = null)
    {
        Append($"<line x1=\"{Left}\" y1=\"{Bottom}\" x2=\"{Right}\" y2=\"{Bottom}\" stroke=\"black\"/><line x1=\"{Left}\" y1=\"{Margin.T}\" x2=\"{Left}\" y2=\"{Bottom}\" stroke=\"black\"/>");
        if (rightMax is not null) Append($"<line x1=\"{Right}\" y1=\"{Margin.T}\" x2=\"{Right}\" y2=\"{Bottom}\" stroke=\"black\"/>");
        for (int i = 0; i <= 4; i++)
        {
            double f = i / 4.0;
            Append($"<text x=\"{Left - 6}\" y=\"{Y(f) + 4:0}\" text-anchor=\"end\">{leftMax * f:0.##}</text>");
            if (rightMax is { } r) Append($"<text x=\"{Right + 6}\" y=\"{Y(f) + 4:0}\">{r * f:0.##}</text>");
        }
    }

    public void Label(double x, double y, string text, string anchor = "middle") =>
        Append($"<text x=\"{x:0.#}\" y=\"{y:0.#}\" text-anchor=\"{anchor}\">{Escape(text)}</text>");

    /// <summary>A legend row at the right of the plot: a line (for curves) or a square (for bars), then the label.</summary>
    public void Legend(int row, string colour, string label, bool square = false)
    {
        double x = Right + 40, y = Margin.T + 20 * row;
        if (square) Append($"<rect x=\"{x + 6}\" y=\"{y - 6}\" width=\"12\" height=\"12\" fill=\"{colour}\"/>");
        else Append($"<line x1=\"{x}\" y1=\"{y}\" x2=\"{x + 20}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/>");
        Append($"<text x=\"{x + 24}\" y=\"{y + 4}\">{Escape(label)}</text>");
    }

    public override string ToString() => _sb.ToString() + "</svg>";

    public static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
