using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

public class SnapshotTests
{
    internal static WindowFeatures Window(
        int nodes = 3,
        string cluster = "c1",
        long start = 1_767_225_600_000,
        int seed = 0
    )
    {
        var rng = new Random(seed);
        int f = FeatureSchema.NodeFeatureCount,
            m = FeatureSchema.MeasurementCount,
            me = FeatureSchema.EdgeMeasurements;
        var edges = Enumerable.Range(1, nodes - 1).Select(i => (From: (i - 1) / 2, To: i)).ToArray(); // a tree
        var measurements = Enumerable
            .Range(0, nodes * m)
            .Select(i => i % 5 == 0 ? double.NaN : rng.NextDouble() * 100)
            .ToArray();
        return new WindowFeatures(
            cluster,
            start,
            start + 30_000,
            Enumerable.Range(0, nodes).Select(i => $"svc-{i}").ToArray(),
            measurements,
            measurements.Select(v => v / 2).ToArray(),
            Enumerable.Range(0, nodes * f).Select(_ => (float)rng.NextDouble()).ToArray(),
            Enumerable
                .Range(0, nodes)
                .Select(i => i == 1 ? "NullReferenceException at Handler line 42" : null)
                .ToArray(),
            edges,
            Enumerable.Range(0, edges.Length * me).Select(_ => rng.NextDouble()).ToArray(),
            Enumerable.Range(0, edges.Length * me).Select(_ => (float)rng.NextDouble()).ToArray(),
            false
        );
    }

    [Fact]
    public void SnapshotRoundTripsThroughArrowIpcFiles()
    {
        var w = Window(5);
        var original = GraphSnapshot.From(w, new SnapshotLabel("svc-3", FaultKind.MemoryLeak));
        var dir = TestData.TempDir();
        SnapshotStore.Write(dir, original);
        Assert.True(File.Exists(Path.Combine(dir, "c1", $"{w.StartMs}.nodes.arrow")));
        var back = Assert.Single(SnapshotStore.ReadAll(dir));

        Assert.Equal("c1", back.Cluster);
        Assert.Equal(w.StartMs, back.WindowStartMs);
        Assert.Equal(w.EndMs, back.WindowEndMs);
        Assert.Equal(FeatureSchema.Version, back.SchemaVersion);
        Assert.Equal(new SnapshotLabel("svc-3", FaultKind.MemoryLeak), back.Label);
        Assert.Equal(w.Services, back.Services());
        for (int k = 0; k < FeatureSchema.NodeFeatureCount; k++)
            Assert.Equal(original.NodeFeature(k).ToArray(), back.NodeFeature(k).ToArray());
        for (int i = 0; i < 5; i++)
            foreach (var m in Enum.GetValues<Measurement>())
            {
                Assert.Equal(original.Measurement(i, m), back.Measurement(i, m)); // NaN stays NaN (Arrow null)
                Assert.Equal(original.Baseline(i, m), back.Baseline(i, m));
            }
        Assert.Equal(w.Edges.Select(e => e.From).ToArray(), back.EdgeSources.ToArray());
        Assert.Equal(w.Edges.Select(e => e.To).ToArray(), back.EdgeTargets.ToArray());
        Assert.Equal(original.EdgeFeature(2).ToArray(), back.EdgeFeature(2).ToArray());
        Assert.Equal("NullReferenceException at Handler line 42", back.NewTemplate(1));
        Assert.Null(back.NewTemplate(0));
    }

    [Fact]
    public void QuietLabelAndMissingLabelAreDistinguished()
    {
        var dir = TestData.TempDir();
        SnapshotStore.Write(dir, GraphSnapshot.From(Window(cluster: "quiet"), SnapshotLabel.Quiet));
        SnapshotStore.Write(dir, GraphSnapshot.From(Window(cluster: "unlabelled")));
        var all = SnapshotStore.ReadAll(dir).ToDictionary(s => s.Cluster);
        Assert.Equal(SnapshotLabel.Quiet, all["quiet"].Label);
        Assert.Null(all["unlabelled"].Label);
    }

    [Fact]
    public void ReadingAMissingDirectoryIsAClearError() =>
        Assert.Throws<DirectoryNotFoundException>(() => SnapshotStore.ReadAll("/nonexistent/lw").ToList());
}
