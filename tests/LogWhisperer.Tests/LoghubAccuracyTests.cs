using LogWhisperer.Features.Logs;
using Xunit.Abstractions;

namespace LogWhisperer.Tests;

/// <summary>Grouping accuracy of the Drain miner on Loghub's labelled samples (../shared/data/loghub-2k).</summary>
public class LoghubAccuracyTests(ITestOutputHelper output)
{
    private static readonly string Root = Path.Combine(TestData.RepoRoot, "..", "shared", "data", "loghub-2k");

    [Fact]
    public void DefaultConfigurationMatchesPublishedDrainOnEverySystem()
    {
        if (!Directory.Exists(Root)) { output.WriteLine($"loghub-2k not found at {Root}; accuracy not measured"); return; }
        var options = new DrainOptions();
        output.WriteLine("system      lines  truth  mined  accuracy  published");
        foreach (var system in LoghubEvaluation.PublishedDrain.Keys)
        {
            var r = LoghubEvaluation.Evaluate(LoghubEvaluation.Load(Root, system), options);
            double published = LoghubEvaluation.PublishedDrain[system];
            output.WriteLine($"{system,-10} {r.Lines,6} {r.TruthTemplates,6} {r.MinedTemplates,6} {r.Accuracy,9:F3} {published,10:F3}");
            // One configuration for all systems, no per-system regexes: it must hold the published per-system-tuned figures.
            Assert.True(r.Accuracy >= published - 0.01, $"{system}: {r.Accuracy:F3} vs published {published:F3}");
        }
    }

    /// <summary>
    /// Leave-one-system-out: the configuration (depth × similarity threshold) is chosen on seven systems by
    /// mean accuracy and measured on the eighth, which it never saw — the default must not be a lucky fit.
    /// </summary>
    [Fact]
    public void ConfigurationChosenWithoutASystemHoldsUpOnIt()
    {
        if (!Directory.Exists(Root)) { output.WriteLine($"loghub-2k not found at {Root}; accuracy not measured"); return; }
        var samples = LoghubEvaluation.PublishedDrain.Keys.Select(s => LoghubEvaluation.Load(Root, s)).ToList();
        var grid = (from depth in new[] { 3, 4, 5, 6 }
                    from st in new[] { 0.3, 0.4, 0.5, 0.6, 0.7 }
                    select new DrainOptions { Depth = depth, SimilarityThreshold = st }).ToList();
        var acc = grid.Select(o => samples.Select(s => LoghubEvaluation.Evaluate(s, o).Accuracy).ToArray()).ToArray();
        output.WriteLine("held-out    chosen(depth,st)  held-out accuracy  published");
        double sum = 0;
        for (int held = 0; held < samples.Count; held++)
        {
            int best = Enumerable.Range(0, grid.Count)
                .MaxBy(g => Enumerable.Range(0, samples.Count).Where(i => i != held).Average(i => acc[g][i]));
            double published = LoghubEvaluation.PublishedDrain[samples[held].System];
            output.WriteLine($"{samples[held].System,-10} ({grid[best].Depth},{grid[best].SimilarityThreshold:F1}) {acc[best][held],22:F3} {published,10:F3}");
            sum += acc[best][held];
        }
        double mean = sum / samples.Count, publishedMean = LoghubEvaluation.PublishedDrain.Values.Average();
        output.WriteLine($"mean held-out accuracy {mean:F3} (published Drain mean {publishedMean:F3})");
        // Per system a held-out choice can miss (OpenSSH prefers a lower threshold than the others agree on);
        // on average it must stay within five points of the per-system-tuned published figures.
        Assert.True(mean >= publishedMean - 0.05, $"mean held-out accuracy {mean:F3}");
    }
}
