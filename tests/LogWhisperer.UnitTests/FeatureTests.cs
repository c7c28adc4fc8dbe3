using LogWhisperer.Features;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;

namespace LogWhisperer.Tests;

public class FeatureTests
{
    [Fact]
    public void RobustBaselineIgnoresAnOutlierAndScoresDeviations()
    {
        var b = new RobustBaseline(20);
        foreach (var v in new double[] { 10, 11, 9, 10, 12, 8, 10, 1000, 10, 11 })
            b.Add(v);
        Assert.Equal(10, b.Median);
        Assert.InRange(b.Mad, 0.9, 1.1);
        Assert.InRange(b.Z(10, 0.1), -0.01, 0.01);
        Assert.True(b.Z(30, 0.1) > 10);
        Assert.Equal(0, b.Z(double.NaN, 0.1));
    }

    [Fact]
    public void FlatSeriesUsesTheFloorInsteadOfDividingByZero()
    {
        var b = new RobustBaseline(10);
        for (int i = 0; i < 10; i++)
            b.Add(0);
        Assert.Equal(5, b.Z(0.1, absoluteFloor: 0.02), 6);
    }

    [Fact]
    public void SketchQuantilesAreWithinFivePercent()
    {
        var s = new LatencySketch();
        for (int i = 1; i <= 10_000; i++)
            s.Add(i / 10.0); // 0.1 .. 1000 ms, uniform
        Assert.InRange(s.Quantile(0.5), 500 * 0.95, 500 * 1.05);
        Assert.InRange(s.Quantile(0.95), 950 * 0.95, 950 * 1.05);
        Assert.True(double.IsNaN(new LatencySketch().Quantile(0.5)));
    }

    [Fact]
    public void LogLinesAreMaskedForPeople()
    {
        Assert.Equal("user <*> logged in from <*>", LogTemplate.Mask("user 42 logged in from 10.0.0.1"));
    }

    [Fact]
    public void SchemaNamesAreUniqueAndEveryMeasurementIsDescribed()
    {
        Assert.Equal(
            FeatureSchema.NodeFeatures.Length,
            FeatureSchema.NodeFeatures.Select(f => f.Name).Distinct().Count()
        );
        Assert.Equal(Enum.GetValues<Measurement>().Length, FeatureSchema.Measurements.Length);
        for (int i = 0; i < FeatureSchema.Measurements.Length; i++)
            Assert.Equal((Measurement)i, FeatureSchema.Measurements[i].Id);
        Assert.All(FeatureSchema.NodeFeatures, f => Assert.False(string.IsNullOrWhiteSpace(f.Description)));
    }

    [Fact]
    public void CountSurpriseReadsLikeAZScoreAtAnyVolume()
    {
        // 3 errors where there are usually none is news; 1,003 where there are usually 1,000 is not.
        Assert.InRange(FeatureSchema.CountZ(3, 0), 2.0, 3.0);
        Assert.InRange(FeatureSchema.CountZ(1003, 1000), 0, 0.1);
        Assert.InRange(FeatureSchema.CountZ(1200, 1000), 5.5, 7);
        Assert.Equal(0, FeatureSchema.CountZ(0, 0));
        Assert.True(FeatureSchema.CountZ(0, 20) < -4);
        Assert.Equal(0, FeatureSchema.CountZ(double.NaN, 3));
    }

    [Fact]
    public void SilenceIsFullEvidenceOnlyWhereTheUsualVolumeMakesItUnlikelyByChance()
    {
        Assert.Equal(1f, FeatureSchema.DropEvidence(0, 1000)); // a busy service went silent
        Assert.InRange(FeatureSchema.DropEvidence(500, 1000), 0.49f, 0.51f); // lost half its volume
        Assert.InRange(FeatureSchema.DropEvidence(0, 3), 0.3f, 0.7f); // 3 usual records: silence happens
        Assert.InRange(FeatureSchema.DropEvidence(0, 1), 0f, 0.35f);
        Assert.Equal(0f, FeatureSchema.DropEvidence(1200, 1000)); // more than usual is no drop
        Assert.True(FeatureSchema.DropEvidence(2, 20) > FeatureSchema.DropEvidence(0, 3));
    }

    [Fact]
    public void ANeverSeenErrorTemplateInAQuietServiceStandsOutAndABusyServicesUsualErrorsDoNot()
    {
        var windower = new EventTimeWindower(new WindowOptions(), new PipelineCounters(), new MemoryDeadLetterSink());
        var featurizer = new Featurizer(new FeaturizerOptions());
        var closed = new List<WindowAggregate>();
        const long window = 30_000;
        var rng = new Random(3);
        for (int w = 0; w < 12; w++)
        {
            var batch = new List<TelemetryRecord>();
            long t0 = w * window;
            // "quiet": two info lines a window, then (last window) three lines of an error it never logged before.
            batch.Add(new LogRecord(t0 + 1000, "c", "quiet", LogSeverity.Info, $"user {w} logged in"));
            batch.Add(new LogRecord(t0 + 2000, "c", "quiet", LogSeverity.Info, $"user {w + 1} logged in"));
            if (w == 11)
                for (int i = 0; i < 3; i++)
                    batch.Add(
                        new LogRecord(
                            t0 + 3000 + i,
                            "c",
                            "quiet",
                            LogSeverity.Error,
                            $"No contacts according to contactsId {i}"
                        )
                    );
            // "busy": about a thousand timeout errors every window, as usual.
            int errors = 1000 + rng.Next(-30, 31);
            for (int i = 0; i < errors; i++)
                batch.Add(
                    new LogRecord(t0 + 5000 + i, "c", "busy", LogSeverity.Error, $"upstream timeout after {i} ms")
                );
            windower.Add(batch, closed);
        }
        windower.Flush(closed);
        var features = closed.OrderBy(c => c.StartMs).Select(featurizer.Featurize).ToList();
        var last = features[^1];
        float Feature(string service, string name) =>
            last.NodeFeatures[
                Array.IndexOf(last.Services, service) * FeatureSchema.NodeFeatureCount
                    + Array.FindIndex(FeatureSchema.NodeFeatures, f => f.Name == name)
            ];

        Assert.True(
            Feature("quiet", "error_log_surprise") > 1,
            $"quiet error_log_surprise {Feature("quiet", "error_log_surprise")}"
        );
        Assert.True(
            Feature("quiet", "new_template_surprise") > 1,
            $"quiet new_template_surprise {Feature("quiet", "new_template_surprise")}"
        );
        Assert.True(
            Math.Abs(Feature("busy", "error_log_surprise")) < 1,
            $"busy error_log_surprise {Feature("busy", "error_log_surprise")}"
        );
        Assert.Equal(0, Feature("busy", "new_template_surprise"));
        // The user ids vary but Drain files those lines under one template: nothing new for "quiet" before the error.
        var before = features[^2];
        Assert.Equal(
            0,
            before.NodeFeatures[
                Array.IndexOf(before.Services, "quiet") * FeatureSchema.NodeFeatureCount
                    + Array.FindIndex(FeatureSchema.NodeFeatures, f => f.Name == "new_template_surprise")
            ]
        );
    }
}
