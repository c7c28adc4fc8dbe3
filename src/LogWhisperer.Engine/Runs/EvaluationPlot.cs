namespace LogWhisperer.Runs;

/// <summary>
/// Ranking accuracy side by side as an SVG bar chart: per fault kind (and over all incidents), one bar per
/// method; the solid bar is AC@1, the pale bar behind it AC@3.
/// </summary>
public static class EvaluationPlot
{
    public static string Svg(RankingReport report, string title)
    {
        var groups = report.Incidents.GroupBy(r => r.Fault.Kind).OrderBy(g => g.Key)
            .Select(g => (Name: g.Key.ToString(), Incidents: (IEnumerable<RankedIncident>)g.ToList())).Prepend(("all", report.Incidents)).ToList();
        int methods = Math.Max(1, report.Methods.Count);
        int width = Math.Max(560, 90 + groups.Count * (methods * 18 + 24) + 230);
        var chart = new SvgChart(width, 400, (60, 230, 40, 70), title);
        chart.Frame(1);
        chart.Append($"<text transform=\"translate(18,{chart.Y(0.5):0}) rotate(-90)\" text-anchor=\"middle\">AC@1 (AC@3 pale)</text>");
        double slot = (chart.Right - chart.Left) / groups.Count, bar = Math.Min(18, (slot - 16) / methods);
        for (int g = 0; g < groups.Count; g++)
        {
            double x0 = chart.Left + slot * g + (slot - bar * methods) / 2;
            for (int m = 0; m < report.Methods.Count; m++)
            {
                var colour = SvgChart.Palette[m % SvgChart.Palette.Length];
                double ac1 = report.AccuracyAt(m, 1, groups[g].Incidents), ac3 = report.AccuracyAt(m, 3, groups[g].Incidents), x = x0 + bar * m;
                chart.Append($"<rect x=\"{x:0.#}\" y=\"{chart.Y(ac3):0.#}\" width=\"{bar - 2:0.#}\" height=\"{chart.Bottom - chart.Y(ac3):0.#}\" fill=\"{colour}\" fill-opacity=\"0.3\"><title>{SvgChart.Escape(report.Methods[m])} {groups[g].Name} AC@3 {ac3:0.000}</title></rect>");
                chart.Append($"<rect class=\"ac1\" x=\"{x:0.#}\" y=\"{chart.Y(ac1):0.#}\" width=\"{bar - 2:0.#}\" height=\"{chart.Bottom - chart.Y(ac1):0.#}\" fill=\"{colour}\"><title>{SvgChart.Escape(report.Methods[m])} {groups[g].Name} AC@1 {ac1:0.000}</title></rect>");
            }
            int n = groups[g].Incidents.Count();
            chart.Label(chart.Left + slot * (g + 0.5), chart.Bottom + 16, groups[g].Name);
            chart.Label(chart.Left + slot * (g + 0.5), chart.Bottom + 30, $"n={n}");
        }
        for (int m = 0; m < report.Methods.Count; m++) chart.Legend(m, SvgChart.Palette[m % SvgChart.Palette.Length], report.Methods[m], square: true);
        return chart.ToString();
    }
}
