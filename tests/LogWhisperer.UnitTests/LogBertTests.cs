using LogWhisperer.Evaluation;
using LogWhisperer.Features.Logs;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;
using Xunit.Abstractions;

namespace LogWhisperer.Tests;

public class LogBertTests(ITestOutputHelper output)
{
    [Fact]
    public void AucMeasuresSeparation()
    {
        Assert.Equal(1.0, Auc.Compute([3, 4], [1, 2]), 6);
        Assert.Equal(0.0, Auc.Compute([1], [2, 3]), 6);
        Assert.Equal(0.5, Auc.Compute([1, 2], [1, 2]), 6);
    }

    [Fact]
    public void TemplateTextGivesUnseenTemplatesSharedPieces()
    {
        var enc = new TemplateTextEncoder();
        var a = enc.Encode("Unhandled exception in GetCart: System.NullReferenceException");
        var b = enc.Encode("Unhandled exception in PlaceOrder: System.TimeoutException");
        Assert.NotEmpty(a);
        Assert.True(a.Intersect(b).Count() >= 3, "related templates share sub-word pieces");
        Assert.All(a, id => Assert.InRange(id, 1, TemplateTextEncoder.Buckets - 1));
    }

    /// <summary>
    /// Simulated Online Boutique: trained on 10 fault-free minutes, then a bad deploy (new exception
    /// templates) and an error burst are injected. The faulty service's windows must score above windows in
    /// which nothing is injected (held out from training).
    /// </summary>
    [Fact]
    public void SeparatesFaultyFromNormalWindowsOnTheSimulator()
    {
        long t0 = new SimulationOptions().StartMs,
            min = 60_000;
        // Onsets on odd seconds: the forms whose root writes its own error lines (Fault.SurfacesInCaller is false),
        // which is what a model of the service's own log keys can see.
        Fault[] faults =
        [
            new("cartservice", FaultKind.BadDeploy, t0 + 14 * min + 1000, t0 + 17 * min, 0.8),
            new("productcatalogservice", FaultKind.Errors, t0 + 20 * min + 1000, t0 + 23 * min, 0.6),
        ];
        var sim = new ChaosSimulator(TestData.OnlineBoutique(), new SimulationOptions { Seed = 3 }, faults);
        var builder = new LogKeySequenceBuilder(new TemplateMiner(), 30_000);
        foreach (var batch in sim.RunUntil(t0 + 26 * min))
        foreach (var r in batch)
            if (r is LogRecord log)
                builder.Add(log.Service, log.TimestampMs, log.Message);
        var sequences = builder.Sequences();

        var train = sequences.Where(s => s.WindowStartMs < t0 + 10 * min).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var detector = LogBertDetector.Train(train);
        output.WriteLine($"training took {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine(
            $"trained on {train.Count} windows, {detector.Vocabulary.Count} keys; "
                + $"loss {detector.LossHistory[0]:F2} → {detector.LossHistory[^1]:F2}"
        );

        bool Quiet(long start) => !faults.Any(f => f.StartMs < start + 30_000 && start < f.EndMs + 60_000);
        clock.Restart();
        var test = detector.ScoreAll(sequences.Where(s => s.WindowStartMs >= t0 + 10 * min).ToList());
        output.WriteLine($"scoring {test.Count} windows took {clock.Elapsed.TotalSeconds:F1} s");
        var normal = test.Where(s => Quiet(s.WindowStartMs)).ToList();
        Assert.True(detector.LossHistory[^1] < detector.LossHistory[0]);
        foreach (var f in faults)
        {
            var faulty = test.Where(s =>
                    s.Service == f.Service && s.WindowStartMs >= f.StartMs && s.WindowStartMs + 30_000 <= f.EndMs
                )
                .ToList();
            double auc = Auc.Compute(faulty.Select(s => s.Score).ToList(), normal.Select(s => s.Score).ToList());
            double aucMiss = Auc.Compute(
                faulty.Select(s => s.MissRatio).ToList(),
                normal.Select(s => s.MissRatio).ToList()
            );
            double aucDist = Auc.Compute(
                faulty.Select(s => s.Distance).ToList(),
                normal.Select(s => s.Distance).ToList()
            );
            output.WriteLine(
                $"{f.Kind} on {f.Service}: {faulty.Count} faulty vs {normal.Count} normal windows; "
                    + $"AUC score {auc:F3} (miss {aucMiss:F3}, distance {aucDist:F3}); "
                    + $"mean miss {faulty.Average(s => s.MissRatio):F3} vs {normal.Average(s => s.MissRatio):F3}"
            );
            Assert.True(auc >= 0.9, $"{f.Kind}: AUC {auc:F3}");
        }
    }
}
