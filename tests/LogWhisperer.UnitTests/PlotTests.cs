using System.Xml.Linq;
using LogWhisperer.Evaluation;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Training;
using ScottPlot.Plottables;

namespace LogWhisperer.Tests;

public class PlotTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private static RankingReport Report()
    {
        static RankedIncident Incident(FaultKind kind, params int[] ranks) =>
            new(new Fault("a", kind, 0, 1, 1), 0, true, ranks);
        // GAT ranks the latency faults 1 and 2, the pod kill 1; the baseline 5, 1 and 2.
        return new RankingReport(
            ["GAT", "robust z-score (BARO/N-Sigma) <baseline>"],
            [Incident(FaultKind.Latency, 1, 5), Incident(FaultKind.Latency, 2, 1), Incident(FaultKind.PodKill, 1, 2)]
        );
    }

    [Fact]
    public void EvaluationBarsAreAsTallAsTheAccuracies()
    {
        var bars = EvaluationPlot.Create(Report(), "t & t").GetPlottables<BarPlot>().ToList();
        Assert.Equal(2 * 2, bars.Count); // per method: the pale AC@3 bars, then the AC@1 bars in front
        // Groups: all, Latency, PodKill.
        // GAT AC@1
        Assert.Equal([2 / 3.0, 0.5, 1], bars[1].Bars.Select(b => b.Value), (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.Equal([1.0, 1, 1], bars[0].Bars.Select(b => b.Value)); // GAT AC@3
        // baseline AC@1
        Assert.Equal([1 / 3.0, 0.5, 0], bars[3].Bars.Select(b => b.Value), (a, b) => Math.Abs(a - b) < 1e-9);
        // baseline AC@3
        Assert.Equal([2 / 3.0, 0.5, 1], bars[2].Bars.Select(b => b.Value), (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.Equal(
            ["GAT", "robust z-score (BARO/N-Sigma) <baseline>"],
            bars.Where((_, i) => i % 2 == 1).Select(b => b.LegendText)
        );
    }

    [Fact]
    public void PlotsRenderAsSvgAndPngWithWholeLegends()
    {
        var dir = TestData.TempDir();
        var (svg, png) = EvaluationPlot.Save(Report(), "t & t", Path.Combine(dir, "eval.svg"));
        Assert.Equal(PngSignature, File.ReadAllBytes(png).Take(8));
        var text = string.Concat(
            XDocument.Load(svg).Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value)
        );
        Assert.Contains("robust z-score (BARO/N-Sigma) <baseline>", text); // the whole method name, escaped and back
        Assert.Contains("t & t", text);

        EpochReport Epoch(int n) => new(n, 1.0 / n, 1.2 / n, 0.5 + n / 10.0, 0.6 + n / 20.0);
        var curves = TrainingPlot.Create([Epoch(1), Epoch(2), Epoch(3)], "training");
        var lines = curves.GetPlottables<Scatter>().ToList();
        Assert.Equal(["train loss", "val loss", "val AC@1", "val incident"], lines.Select(l => l.LegendText));
        Assert.Equal(2, lines.Count(l => l.Axes.YAxis == curves.Axes.Right)); // accuracies on their own 0..1 axis
        var (curvesSvg, curvesPng) = TrainingPlot.Save(
            [Epoch(1), Epoch(2), Epoch(3)],
            "training",
            Path.Combine(dir, "m.curves.svg")
        );
        Assert.Equal(Path.Combine(dir, "m.curves.png"), curvesPng);
        Assert.Equal(PngSignature, File.ReadAllBytes(curvesPng).Take(8));
        Assert.Contains("val incident", File.ReadAllText(curvesSvg));
        Console.WriteLine(
            $"plots: {png} ({new FileInfo(png).Length:N0} B), {curvesPng} ({new FileInfo(curvesPng).Length:N0} B)"
        );
    }
}
