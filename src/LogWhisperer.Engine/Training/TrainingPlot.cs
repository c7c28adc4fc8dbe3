using LogWhisperer.Scoring;
using ScottPlot;

namespace LogWhisperer.Training;

/// <summary>Training curves (ScottPlot): losses on the left axis, validation accuracies (0..1) on the right.</summary>
public static class TrainingPlot
{
    public static Plot Create(IReadOnlyList<EpochReport> history, string title)
    {
        var plot = Plots.New(title);
        plot.XLabel($"epoch (1..{history.Count})");
        plot.YLabel("loss");
        plot.Axes.Right.Label.Text = "accuracy";
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        if (history.Count == 0)
            return plot;
        double[] epochs = history.Select(h => (double)h.Epoch).ToArray();
        void Line(Func<EpochReport, double> value, int colour, string label, bool accuracy)
        {
            var line = plot.Add.ScatterLine(epochs, history.Select(value).ToArray(), Plots.Colour(colour));
            line.LineWidth = 2;
            line.LegendText = label;
            if (accuracy)
                line.Axes.YAxis = plot.Axes.Right;
        }
        Line(h => h.TrainLoss, 0, "train loss", false);
        Line(h => h.ValidationLoss, 1, "val loss", false);
        Line(h => h.ValidationAc1, 2, "val AC@1", true);
        Line(h => h.ValidationIncidentAccuracy, 3, "val incident", true);
        plot.Axes.SetLimitsY(0, 1.05, plot.Axes.Right);
        plot.Axes.SetLimitsY(
            0,
            Math.Max(1e-6, history.Max(h => Math.Max(h.TrainLoss, h.ValidationLoss))) * 1.05,
            plot.Axes.Left
        );
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>Writes the curves as SVG to <paramref name="path"/> and as PNG beside it; returns both paths.</summary>
    public static (string Svg, string Png) Save(IReadOnlyList<EpochReport> history, string title, string path) =>
        Plots.Save(Create(history, title), path, 820, 420);
}

/// <summary>What the engine's plots share: a white titled canvas, one palette, SVG and PNG side by side.</summary>
internal static class Plots
{
    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#8c564b"];

    public static Color Colour(int index) => Color.FromHex(Palette[index % Palette.Length]);

    public static Plot New(string title)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans"); // where installed (Debian's fonts-dejavu-core); the system default otherwise
        plot.Title(title);
        return plot;
    }

    /// <summary>The plot as <c>.svg</c> and <c>.png</c> (same name, whatever extension <paramref name="path"/>
    /// has).</summary>
    public static (string Svg, string Png) Save(Plot plot, string path, int width, int height)
    {
        string svg = Path.ChangeExtension(path, ".svg"),
            png = Path.ChangeExtension(path, ".png");
        plot.SaveSvg(svg, width, height);
        plot.SavePng(png, width, height);
        return (svg, png);
    }
}
