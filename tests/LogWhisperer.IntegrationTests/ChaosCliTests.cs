using LogWhisperer.Export;
using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

/// <summary>`logwhisperer chaos` as users run it, in a child process.</summary>
[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public class ChaosCliTests
{
    [Fact]
    public void ChaosRunWritesEveryFormatAndTheGroundTruthAndSummarises()
    {
        var dir = TestData.TempDir();
        var (exit, stdout, stderr) = CliTests.Run(
            "chaos",
            "run",
            "--topology",
            "bookinfo",
            "--minutes",
            "10",
            "--incidents",
            "2",
            "--seed",
            "3",
            "--out",
            dir
        );
        Assert.True(exit == 0, stderr);
        foreach (
            var file in new[]
            {
                DirectoryPayloadSink.LokiFile,
                DirectoryPayloadSink.OtlpFile,
                ChaosRecorder.GroundTruthFile,
                ChaosRecorder.TopologyFile,
            }
        )
            Assert.True(new FileInfo(Path.Combine(dir, file)).Length > 0, file);
        Assert.Equal(
            10 * 60 / 5,
            Directory.GetFiles(Path.Combine(dir, DirectoryPayloadSink.MetricsDirectory), "*.prom").Length
        );
        var incidents = GroundTruthEntry
            .ReadFile(Path.Combine(dir, ChaosRecorder.GroundTruthFile))
            .Where(e => e.Type == GroundTruthEntry.Incident)
            .ToList();
        Assert.Equal(2, incidents.Count);
        long start = new SimulationOptions().StartMs;
        Assert.All(incidents, i => Assert.InRange(i.StartMs, start + 5 * 60_000, start + 10 * 60_000));
        Assert.All(incidents, i => Assert.True(i.EndMs <= start + 10 * 60_000 && i.EndMs > i.StartMs));
        Assert.Matches(
            @"^chaos: [0-9,]+ records \([0-9,]+ log lines, [0-9,]+ metric samples, [0-9,]+ spans\), .* records/s, [0-9.]+x real time",
            stdout.Trim()
        );
        Assert.Contains("bookinfo (5 services)", stderr);
        // Progress: a plain line per simulated minute (output redirected here), records counting up to the summary's.
        var progress = System.Text.RegularExpressions.Regex.Matches(
            stderr,
            @"^\[(\d+)/10 min, \d+ s\] ([0-9,]+) records$",
            System.Text.RegularExpressions.RegexOptions.Multiline
        );
        Assert.Equal(Enumerable.Range(1, 10), progress.Select(m => int.Parse(m.Groups[1].Value)));
        var counts = progress.Select(m => long.Parse(m.Groups[2].Value.Replace(",", ""))).ToList();
        Assert.Equal(counts.Order(), counts);
        Assert.Equal(
            long.Parse(
                System
                    .Text.RegularExpressions.Regex.Match(stdout.Trim(), @"^chaos: ([0-9,]+) records")
                    .Groups[1]
                    .Value.Replace(",", "")
            ),
            counts[^1]
        );
        Assert.DoesNotContain("\u001b[", stderr);
    }

    [Fact]
    public void ChaosTopologyWritesALoadableMeshOfTheRequestedSize()
    {
        var file = Path.Combine(TestData.TempDir(), "mesh.json");
        var (exit, _, stderr) = CliTests.Run("chaos", "topology", "--services", "300", "--seed", "2", "--out", file);
        Assert.True(exit == 0, stderr);
        var topology = Topology.Load(file);
        Assert.Equal(300, topology.Services.Count);
        Assert.NotNull(topology.CircuitBreaker);
        Assert.Contains("300 services", stderr);
    }

    [Fact]
    public void ImpossiblePlansAndBadSizesAreClearErrors()
    {
        var (exit, _, err) = CliTests.Run(
            "chaos",
            "run",
            "--minutes",
            "6",
            "--incidents",
            "5",
            "--out",
            TestData.TempDir()
        );
        Assert.Equal(2, exit);
        Assert.Contains("5 incident(s) need at least", err);
        var (exit2, _, err2) = CliTests.Run("chaos", "topology", "--services", "2");
        Assert.Equal(2, exit2);
        Assert.Contains("at least 3 services", err2);
        Assert.DoesNotContain("   at ", err + err2);
    }
}
