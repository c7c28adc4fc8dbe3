using LogWhisperer.Features.Logs;
using Xunit.Abstractions;

namespace LogWhisperer.Tests;

/// <summary>
/// Accuracy of the template miner on Loghub's labelled samples (../shared/data/loghub-2k), mined as a stream with
/// the default options: one configuration for every system, no per-system patterns.
/// </summary>
public class LoghubAccuracyTests(ITestOutputHelper output)
{
    private static readonly string Root = Path.Combine(TestData.RepoRoot, "..", "shared", "data", "loghub-2k");

    /// <summary>
    /// Per-system floors sit well below the measured figures (docs/template-mining.md) so that only a real
    /// regression fails; the mean holds the bar of 0.95.
    /// </summary>
    [Fact]
    public void DefaultConfigurationGroupsEverySystemAccurately()
    {
        if (!Directory.Exists(Root))
        {
            output.WriteLine($"loghub-2k not found at {Root}; accuracy not measured");
            return;
        }
        var floors = new Dictionary<string, double>
        {
            ["HDFS"] = 0.97,
            ["BGL"] = 0.95,
            ["Apache"] = 0.97,
            ["Hadoop"] = 0.95,
            ["Spark"] = 0.95,
            ["Zookeeper"] = 0.95,
            ["OpenSSH"] = 0.95,
            ["HealthApp"] = 0.95,
        };
        var results = LoghubEvaluation
            .PublishedDrain.Keys.Select(s =>
                LoghubEvaluation.Evaluate(LoghubEvaluation.Load(Root, s), new DrainOptions())
            )
            .ToList();
        foreach (var r in results)
        {
            output.WriteLine(
                $"{r.System, -10} GA {r.Accuracy:F3} PA {r.ParsingAccuracy:F3} "
                    + $"F1 {r.GroupingF1:F3} ({r.MinedTemplates} mined, "
                    + $"{r.TruthTemplates} true)"
            );
            Assert.True(
                r.Accuracy >= floors[r.System],
                $"{r.System}: GA {r.Accuracy:F3} under its floor {floors[r.System]}"
            );
            Assert.InRange(r.ParsingAccuracy, 0, 1);
            Assert.InRange(r.GroupingF1, 0, r.Accuracy == 1 ? 1 : 0.9999);
        }
        Assert.True(results.Average(r => r.Accuracy) >= 0.95, $"mean GA {results.Average(r => r.Accuracy):F3}");
    }

    /// <summary>
    /// Leave-one-system-out: depth × similarity × conflicts chosen on seven systems by mean accuracy and measured on
    /// the eighth, which it never saw — the default must not be a lucky fit to these eight files.
    /// </summary>
    [Fact]
    public void ConfigurationChosenWithoutASystemHoldsUpOnIt()
    {
        if (!Directory.Exists(Root))
        {
            output.WriteLine($"loghub-2k not found at {Root}; accuracy not measured");
            return;
        }
        var samples = LoghubEvaluation.PublishedDrain.Keys.Select(s => LoghubEvaluation.Load(Root, s)).ToList();
        var held = LoghubEvaluation.LeaveOneSystemOut(samples);
        foreach (var h in held)
            output.WriteLine(
                $"{h.System, -10} depth {h.Chosen.Depth} similarity {h.Chosen.SimilarityThreshold:F1} "
                    + $"conflicts {h.Chosen.MaxConflicts} -> {h.Accuracy:F3}"
            );
        Assert.Equal(samples.Select(s => s.System), held.Select(h => h.System));
        double mean = held.Average(h => h.Accuracy);
        output.WriteLine($"mean held-out accuracy {mean:F3}");
        Assert.True(mean >= 0.93, $"mean held-out accuracy {mean:F3}");
    }

    /// <summary>docs/template-mining.md's Loghub table is this command's output, byte for byte.</summary>
    [Fact]
    public void TemplateMiningDocTableIsTheOutputOfItsCommand()
    {
        if (!Directory.Exists(Root))
        {
            output.WriteLine($"loghub-2k not found at {Root}; docs/template-mining.md table not checked");
            return;
        }
        var doc = File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "template-mining.md"));
        const string command = "logwhisperer templates --loghub ../shared/data/loghub-2k";
        int at = doc.IndexOf(command, StringComparison.Ordinal);
        Assert.True(at >= 0, "docs/template-mining.md lost the templates --loghub command");
        int start = doc.IndexOf("```text\n", at, StringComparison.Ordinal) + "```text\n".Length;
        var shown = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        var (exit, stdout, stderr) = CliTests.Run(command.Split(' ')[1..]);
        Assert.True(exit == 0, stderr);
        Assert.Equal(stdout.ReplaceLineEndings("\n"), shown);
    }
}
