using System.Globalization;
using System.Text;
using LogWhisperer.Scoring;

namespace LogWhisperer.Runs;

/// <summary>Training curves as a self-contained SVG image (no plotting library, opens in any browser).</summary>
public static class TrainingPlot
{
    public static string Svg(IReadOnlyList<EpochReport> history, string title)
    {
        const int W = 720, H = 400, L = 60, R = 140, T = 40, B = 50;
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.Append(inv, $"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/><text x=\"{W / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{Escape(title)}</text>");
        if (history.Count == 0) return sb.Append("</svg>").ToString();
        double maxLoss = Math.Max(1e-6, history.Max(h => Math.Max(h.TrainLoss, h.ValidationLoss)));
        int epochs = Math.Max(2, history.Count);
        double X(int epoch) => L + (W - L - R) * (epoch - 1) / (double)(epochs - 1);
        double Y(double fraction) => H - B - (H - T - B) * Math.Clamp(fraction, 0, 1);
        // Axes: loss on the left (0..max), accuracy on the right (0..1).
        sb.Append(inv, $"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"black\"/><line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\" stroke=\"black\"/><line x1=\"{W - R}\" y1=\"{T}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"black\"/>");
        for (int i = 0; i <= 4; i++)
        {
            double f = i / 4.0;
            sb.Append(inv, $"<text x=\"{L - 6}\" y=\"{Y(f) + 4:0}\" text-anchor=\"end\">{maxLoss * f:0.##}</text><text x=\"{W - R + 6}\" y=\"{Y(f) + 4:0}\">{f:0.##}</text>");
        }
        sb.Append(inv, $"<text x=\"{(L + W - R) / 2}\" y=\"{H - 15}\" text-anchor=\"middle\">epoch (1..{history.Count})</text>");
        void Line(Func<EpochReport, double> value, string colour, string label, int row, bool accuracy)
        {
            var points = string.Join(' ', history.Select(h => string.Create(inv, $"{X(h.Epoch):0.#},{Y(accuracy ? value(h) : value(h) / maxLoss):0.#}")));
            sb.Append(inv, $"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{points}\"/>");
            sb.Append(inv, $"<line x1=\"{W - R + 40}\" y1=\"{T + 20 * row}\" x2=\"{W - R + 60}\" y2=\"{T + 20 * row}\" stroke=\"{colour}\" stroke-width=\"2\"/><text x=\"{W - R + 64}\" y=\"{T + 20 * row + 4}\">{label}</text>");
        }
        Line(h => h.TrainLoss, "#1f77b4", "train loss", 0, false);
        Line(h => h.ValidationLoss, "#ff7f0e", "val loss", 1, false);
        Line(h => h.ValidationAc1, "#2ca02c", "val AC@1", 2, true);
        Line(h => h.ValidationIncidentAccuracy, "#9467bd", "val incident", 3, true);
        return sb.Append("</svg>").ToString();
    }

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
