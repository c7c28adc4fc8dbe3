using System.Globalization;
using LogWhisperer.Scoring;

namespace LogWhisperer.Runs;

/// <summary>Training curves as a self-contained SVG image (no plotting library, opens in any browser).</summary>
public static class TrainingPlot
{
    public static string Svg(IReadOnlyList<EpochReport> history, string title)
    {
        var chart = new SvgChart(720, 400, (60, 140, 40, 50), title);
        if (history.Count == 0) return chart.ToString();
        double maxLoss = Math.Max(1e-6, history.Max(h => Math.Max(h.TrainLoss, h.ValidationLoss)));
        int epochs = Math.Max(2, history.Count);
        double X(int epoch) => chart.Left + (chart.Right - chart.Left) * (epoch - 1) / (epochs - 1);
        // Axes: loss on the left (0..max), accuracy on the right (0..1).
        chart.Frame(maxLoss, rightMax: 1);
        chart.Label((chart.Left + chart.Right) / 2, chart.Height - 15, $"epoch (1..{history.Count})");
        void Line(Func<EpochReport, double> value, string colour, string label, int row, bool accuracy)
        {
            var points = string.Join(' ', history.Select(h => string.Create(CultureInfo.InvariantCulture, $"{X(h.Epoch):0.#},{chart.Y(accuracy ? value(h) : value(h) / maxLoss):0.#}")));
            chart.Append($"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{points}\"/>");
            chart.Legend(row, colour, label);
        }
        Line(h => h.TrainLoss, SvgChart.Palette[0], "train loss", 0, false);
        Line(h => h.ValidationLoss, SvgChart.Palette[1], "val loss", 1, false);
        Line(h => h.ValidationAc1, SvgChart.Palette[2], "val AC@1", 2, true);
        Line(h => h.ValidationIncidentAccuracy, SvgChart.Palette[3], "val incident", 3, true);
        return chart.ToString();
    }
}
