using LogWhisperer.Cli.Commands;
using LogWhisperer.Evaluation;
using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

public class ConsoleOutputTests
{
    [Fact]
    public void RedirectedTablesAreAlignedMarkdownWithEveryFigure()
    {
        static RankedIncident Incident(FaultKind kind, params int[] ranks) =>
            new(new Fault("a", kind, 0, 1, 1), 0, true, ranks);
        var report = new RankingReport(
            ["LogWhisperer GAT", "robust z-score (BARO/N-Sigma)"],
            [
                Incident(FaultKind.SlowDependency, 1, 4),
                Incident(FaultKind.Latency, 2, 1),
                Incident(FaultKind.CpuHog, 1, 1),
            ]
        );
        var text = ConsoleOutput.ToText(c => ConsoleOutput.Ranking(c, report));
        var tables = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(t => t.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        Assert.Equal(2, tables.Count);
        foreach (var lines in tables)
        {
            Assert.All(lines, l => Assert.StartsWith("|", l));
            // every row as wide as the header: aligned, long kinds too
            Assert.Single(lines.Select(l => l.TrimEnd().Length).Distinct());
            Assert.Matches(@"^\|[-: |]+\|$", lines[1].TrimEnd()); // the Markdown header rule
        }
        Assert.Matches(@"\| LogWhisperer GAT +\| +0\.667 \| +1\.000 \|", text);
        Assert.Matches(@"\| SlowDependency +\| +1 \| +1\.000 \| +0\.000 \|", text);
        Assert.DoesNotContain("\u001b[", text); // no colour or cursor codes in a file
    }
}
