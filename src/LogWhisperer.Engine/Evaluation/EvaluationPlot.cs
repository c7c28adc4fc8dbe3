using LogWhisperer.Training;
using ScottPlot;

namespace LogWhisperer.Evaluation;

/// <summary>
/// Ranking accuracy side by side as a bar chart (ScottPlot): per fault kind (and over all incidents), one bar
/// per method; the solid bar is AC@1, the pale bar behind it AC@3. The legend sits outside the data, beside it.
/// </summary>
public static class EvaluationPlot
{
    public static Plot Create(RankingReport report, string title)
    {
        var groups = report
            .Incidents.GroupBy(r => r.Fault.Kind)
            .OrderBy(g => g.Key)
            .Select(g => (Name: g.Key.ToString(), Incidents: (IEnumerable<RankedIncident>)g.ToList()))
            .Prepend(("all", report.Incidents))
            .ToList();
        int methods = Math.Max(1, report.Methods.Count);
        var plot = Plots.New(title);
        double width = 0.8 / methods;
        for (int m = 0; m < report.Methods.Count; m++)
        {
            var colour = Plots.Colour(m);
            var ac3 = groups.Select(
                (g, i) =>
                    new Bar
                    {
                        Position = i + (m - (methods - 1) / 2.0) * width,
                        Value = report.AccuracyAt(m, 3, g.Incidents),
                        Size = width * 0.9,
                        FillColor = colour.WithAlpha(0.3),
                        LineWidth = 0,
                    }
            );
            var ac1 = groups.Select(
                (g, i) =>
                    new Bar
                    {
                        Position = i + (m - (methods - 1) / 2.0) * width,
                        Value = report.AccuracyAt(m, 1, g.Incidents),
                        Size = width * 0.9,
                        FillColor = colour,
                        LineWidth = 0,
                    }
            );
            plot.Add.Bars(ac3.ToList());
            plot.Add.Bars(ac1.ToList()).LegendText = report.Methods[m];
        }
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int g = 0; g < groups.Count; g++)
            ticks.AddMajor(g, $"{groups[g].Name}\nn={groups[g].Incidents.Count()}");
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimits(-0.6, groups.Count - 0.4, 0, 1.05);
        plot.YLabel("AC@1 (AC@3 pale)");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>Writes the chart as SVG to <paramref name="path"/> and as PNG beside it; returns both paths.</summary>
    public static (string Svg, string Png) Save(RankingReport report, string title, string path)
    {
        int groups = report.Incidents.Select(r => r.Fault.Kind).Distinct().Count() + 1;
        return Plots.Save(
            Create(report, title),
            path,
            Math.Max(720, 160 + groups * (Math.Max(1, report.Methods.Count) * 22 + 30) + 260),
            420
        );
    }
}
