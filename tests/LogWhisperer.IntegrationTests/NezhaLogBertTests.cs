using System.Diagnostics;
using LogWhisperer.Evaluation;
using LogWhisperer.Features.Logs;
using Xunit.Abstractions;

namespace LogWhisperer.Tests;

/// <summary>
/// LogBERT-style scores on real Train-Ticket logs (Nezha, ../shared/data/nezha-trainticket). Trained on the
/// fault-free minute plus, before 10:30 UTC, the windows of services that are not the injected one; tested
/// on the injected services' windows (every fault, never trained on) against the other services' windows
/// after 10:30 (never trained on).
/// </summary>
public class NezhaLogBertTests(ITestOutputHelper output)
{
    private static readonly string Archive = Path.Combine(
        TestData.RepoRoot,
        "..",
        "shared",
        "data",
        "nezha-trainticket",
        "trainticket-2023-01-29.tar.xz"
    );

    [Fact]
    public void SeparatesInjectedServicesFromOthersOnTrainTicketLogs()
    {
        if (!File.Exists(Archive))
        {
            output.WriteLine($"Nezha data not found at {Archive}; separation not measured");
            return;
        }
        var dir = TestData.TempDir();
        var tar = Process.Start(
            new ProcessStartInfo("tar", ["-xJf", Archive, "-C", dir, "--wildcards", "*/log/*", "*fault_list.json"])
        )!;
        tar.WaitForExit();
        Assert.Equal(0, tar.ExitCode);
        var day = Directory.GetDirectories(Path.Combine(dir, "rca_data")).Single();
        var faults = NezhaDataset.ReadFaults(Directory.GetFiles(day, "*fault_list.json").Single());
        var constructDir = Path.Combine(dir, "construct_data", Path.GetFileName(day), "log");

        const long window = 30_000;
        var builder = new LogKeySequenceBuilder(new TemplateMiner(), window);
        var fromConstruct = new HashSet<long>();
        foreach (var log in NezhaDataset.ReadLogs(constructDir))
        {
            builder.Add(log.Service, log.TimestampMs, log.Message);
            fromConstruct.Add(log.TimestampMs - log.TimestampMs % window);
        }
        foreach (var log in NezhaDataset.ReadLogs(Path.Combine(day, "log")).OrderBy(l => l.TimestampMs))
            builder.Add(log.Service, log.TimestampMs, log.Message);
        var sequences = builder.Sequences();

        long split = new DateTimeOffset(2023, 1, 29, 10, 30, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        NezhaFault? RootOf(LogKeySequence s) =>
            faults.FirstOrDefault(f =>
                f.Service == s.Service
                && s.WindowStartMs + window > f.InjectTime.ToUnixTimeMilliseconds()
                && s.WindowStartMs < f.InjectTime.ToUnixTimeMilliseconds() + 120_000
            );
        bool NearRoot(LogKeySequence s) =>
            faults.Any(f =>
                f.Service == s.Service && Math.Abs(s.WindowStartMs - f.InjectTime.ToUnixTimeMilliseconds()) < 300_000
            );

        var train = sequences
            .Where(s => fromConstruct.Contains(s.WindowStartMs) || (s.WindowStartMs < split && !NearRoot(s)))
            .ToList();
        var positives = sequences
            .Where(s => RootOf(s) is not null && !fromConstruct.Contains(s.WindowStartMs))
            .ToList();
        var negatives = sequences
            .Where(s => s.WindowStartMs >= split && !NearRoot(s) && !fromConstruct.Contains(s.WindowStartMs))
            .ToList();
        var clock = Stopwatch.StartNew();
        var detector = LogBertDetector.Train(train);
        output.WriteLine(
            $"{sequences.Count} windows, {builder.Miner.Parsers.Values.Sum(p => p.TemplateCount)} templates; "
                + $"trained on {train.Count} in {clock.Elapsed.TotalSeconds:F0} s"
        );
        var trained = clock.Elapsed;
        var pos = detector.ScoreAll(positives).Zip(positives, (score, s) => (score, RootOf(s)!.Kind)).ToList();
        var negativeScores = detector.ScoreAll(negatives); // scored once: the per-kind lines below reuse them
        var neg = negativeScores.Select(s => s.Score).ToList();
        output.WriteLine(
            $"scored {positives.Count + negatives.Count} windows in {(clock.Elapsed - trained).TotalSeconds:F0} s"
        );
        double all = Auc.Compute(pos.Select(p => p.score.Score).ToList(), neg);
        output.WriteLine(
            $"all faults: {pos.Count} injected-service windows vs {neg.Count} other windows: AUC {all:F3}"
        );
        foreach (var kind in pos.GroupBy(p => p.Kind))
            output.WriteLine(
                $"  {kind.Key, -15} {kind.Count(), 3} windows: "
                    + $"AUC {Auc.Compute(kind.Select(p => p.score.Score).ToList(), neg):F3}, "
                    + $"mean miss {kind.Average(p => p.score.MissRatio):F3} (others "
                    + $"{(negativeScores.Count == 0 ? 0 : negativeScores.Average(s => s.MissRatio)):F3})"
            );
        // Measured 0.696–0.711 overall (return faults 0.83–0.89; exception and CPU-contention faults change the root's
        // own logs much less). The bound guards against regressions; it is no claim that logs alone find every fault.
        Assert.True(all >= 0.65, $"all faults: AUC {all:F3}");
        Directory.Delete(dir, recursive: true);
    }
}
