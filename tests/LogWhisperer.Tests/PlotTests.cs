using System.Globalization;
using System.Xml.Linq;
using LogWhisperer.Runs;
using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

public class PlotTests
{
    [Fact]
    public void EvaluationBarsAreAsTallAsTheAccuracies()
    {
        static RankedIncident Incident(FaultKind kind, params int[] ranks) => new(new Fault("a", kind, 0, 1, 1), 0, true, ranks);
        // GAT ranks the latency faults 1 and 2, the pod kill 1; the baseline 5, 1 and 2.
        var report = new RankingReport(["GAT", "z-score <baseline>"],
            [Incident(FaultKind.Latency, 1, 5), Incident(FaultKind.Latency, 2, 1), Incident(FaultKind.PodKill, 1, 2)]);
        var svg = XDocument.Parse(EvaluationPlot.Svg(report, "t & t"));
        var bars = svg.Descendants().Where(e => e.Name.LocalName == "rect" && (string?)e.Attribute("class") == "ac1").ToList();
        Assert.Equal(3 * 2, bars.Count); // (all, Latency, PodKill) × two methods

        double Height(XElement e) => double.Parse(e.Attribute("height")!.Value, CultureInfo.InvariantCulture);
        double Full = 400 - 40 - 70; // plot height: AC@1 = 1
        string[] expected = ["GAT all AC@1 0.667", "z-score <baseline> all AC@1 0.333", "GAT Latency AC@1 0.500", "z-score <baseline> Latency AC@1 0.500", "GAT PodKill AC@1 1.000", "z-score <baseline> PodKill AC@1 0.000"];
        Assert.Equal(expected, bars.Select(b => b.Elements().Single().Value));
        Assert.Equal([2 / 3.0, 1 / 3.0, 0.5, 0.5, 1, 0], bars.Select(b => Math.Round(Height(b) / Full, 2)).Select(h => h).ToArray(), (a, b) => Math.Abs(a - b) < 0.01);
    }
}
