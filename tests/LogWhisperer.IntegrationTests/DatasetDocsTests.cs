using LogWhisperer.Sources.Datasets;

namespace LogWhisperer.Tests;

/// <summary>docs/datasets.md is code: its mapping examples load, and its command lines run.</summary>
public class DatasetDocsTests
{
    private static string Doc => File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "datasets.md"));

    private static IEnumerable<string> Blocks(string language)
    {
        var fence = "```" + language + "\n";
        for (
            int i = Doc.IndexOf(fence, StringComparison.Ordinal);
            i >= 0;
            i = Doc.IndexOf(fence, i + 1, StringComparison.Ordinal)
        )
        {
            int start = i + fence.Length;
            yield return Doc[start..Doc.IndexOf("```", start, StringComparison.Ordinal)];
        }
    }

    [Fact]
    public void EveryMappingExampleLoads()
    {
        var examples = Blocks("json").ToList();
        Assert.Equal(5, examples.Count);
        foreach (var json in examples)
        {
            var path = Path.Combine(TestData.TempDir(), "mapping.json");
            File.WriteAllText(path, json);
            Assert.NotNull(DatasetMapping.Load(path));
        }
    }

    [Fact]
    public void TheCommandLinesRunAndReplayTheExportThroughTheShippedMapping()
    {
        var dir = Path.Combine(TestData.TempDir(), "chaos-wide");
        var commands = Blocks("bash")
            .First()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Replace("/tmp/chaos-wide", dir).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        Assert.Equal(2, commands.Count);
        Assert.All(commands, c => Assert.Equal("logwhisperer", c[0]));
        var (exit, _, err) = CliTests.Run(commands[0][1..]);
        Assert.True(exit == 0, err);
        Assert.True(File.Exists(Path.Combine(dir, "metrics.csv")));
        var (replayExit, table, replayErr) = CliTests.Run(commands[1][1..]);
        Assert.True(replayExit == 0, replayErr);
        Assert.Contains("replay: chaos-wide, 2 cases", table);
        Assert.Matches(@"\| GAT zero-shot +\|", table);
        Assert.Contains("changes (0 records not changes)", replayErr);
    }

    [Fact]
    public void TheEvalCommandLinesBehindTheFiguresRun()
    {
        // The figures' command lines, on 4 incidents instead of 100 (the output's shape, not the figures).
        var commands = Blocks("bash")
            .Skip(1)
            .First()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l =>
                l.Replace("--incidents 100", "--incidents 4").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            )
            .ToList();
        Assert.Equal(2, commands.Count);
        var (exit, table, err) = CliTests.Run(commands[0][1..]);
        Assert.True(exit == 0, err);
        Assert.Contains("changes: the first event named the guilty change in", table);
        var (withheldExit, withheld, withheldErr) = CliTests.Run(commands[1][1..]);
        Assert.True(withheldExit == 0, withheldErr);
        Assert.Contains("changes withheld; likelihood ratios fitted on these windows", withheld);
    }
}
