using LogWhisperer.Features;
using LogWhisperer.Windowing;

namespace LogWhisperer.Tests;

public class FeatureTests
{
    [Fact]
    public void RobustBaselineIgnoresAnOutlierAndScoresDeviations()
    {
        var b = new RobustBaseline(20);
        foreach (var v in new double[] { 10, 11, 9, 10, 12, 8, 10, 1000, 10, 11 }) b.Add(v);
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
        for (int i = 0; i < 10; i++) b.Add(0);
        Assert.Equal(5, b.Z(0.1, absoluteFloor: 0.02), 6);
    }

    [Fact]
    public void SketchQuantilesAreWithinFivePercent()
    {
        var s = new LatencySketch();
        for (int i = 1; i <= 10_000; i++) s.Add(i / 10.0); // 0.1 .. 1000 ms, uniform
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
        Assert.Equal(FeatureSchema.NodeFeatures.Length, FeatureSchema.NodeFeatures.Select(f => f.Name).Distinct().Count());
        Assert.Equal(Enum.GetValues<Measurement>().Length, FeatureSchema.Measurements.Length);
        for (int i = 0; i < FeatureSchema.Measurements.Length; i++) Assert.Equal((Measurement)i, FeatureSchema.Measurements[i].Id);
        Assert.All(FeatureSchema.NodeFeatures, f => Assert.False(string.IsNullOrWhiteSpace(f.Description)));
    }
}
