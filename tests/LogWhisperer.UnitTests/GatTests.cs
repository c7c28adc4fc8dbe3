using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using TorchSharp;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

public class GatTests
{
    private static GatModel NewModel(int seed = 1)
    {
        manual_seed(seed);
        return new GatModel(new GatConfig());
    }

    [Fact]
    public void EdgeSoftmaxSumsToOnePerTargetNode()
    {
        using var scope = NewDisposeScope();
        // Uniform in [-10, 10], and node 3's only edge (its self-loop) 500 below everything else: each node's
        // softmax is shifted by its own self-loop score, so one group far from the others changes nothing.
        var scores = rand(7, 3) * 20 - 10;
        scores[6] = scores[6] - 500;
        var target = tensor(new long[] { 0, 0, 1, 2, 2, 2, 3 });
        var selfLoop = tensor(new long[] { 1, 2, 5, 6 });
        var alpha = GroupOps.EdgeSoftmax(scores, target, selfLoop, 4);
        var sums = GroupOps.Sum(alpha, target, 4);
        Assert.True(allclose(sums, ones(4, 3), atol: 1e-5));
        // Node 2's weights are the plain softmax of its three scores.
        var expected = nn.functional.softmax(scores.index_select(0, tensor(new long[] { 3, 4, 5 })), 0);
        Assert.True(allclose(alpha.index_select(0, tensor(new long[] { 3, 4, 5 })), expected, atol: 1e-6));
    }

    [Fact]
    public void BatchedScoringEqualsScoringEachSnapshotAlone()
    {
        var model = NewModel();
        var scorer = new GatScorer(model, CPU);
        var snapshots = Enumerable
            .Range(0, 4)
            .Select(i => GraphSnapshot.From(SnapshotTests.Window(3 + 2 * i, "c" + i, seed: i)))
            .ToArray();
        var together = scorer.Score(snapshots);
        for (int i = 0; i < snapshots.Length; i++)
        {
            var alone = scorer.Score([snapshots[i]])[0];
            Assert.Equal(snapshots[i].NodeCount, together[i].RootProbability.Length);
            for (int n = 0; n < alone.RootProbability.Length; n++)
                Assert.Equal(alone.RootProbability[n], together[i].RootProbability[n], 4);
            Assert.Equal(alone.IncidentProbability, together[i].IncidentProbability, 4);
            Assert.Equal(1.0, together[i].RootProbability.Sum(), 3);
            Assert.Equal(snapshots[i].EdgeCount, together[i].CallAttention.Length);
        }
    }

    [Fact]
    public void ScoresDoNotDependOnNodeOrder()
    {
        // Permutation equivariance: the same graph with nodes listed in another order gets the same scores per service.
        var model = NewModel(3);
        var scorer = new GatScorer(model, CPU);
        var w = SnapshotTests.Window(6, seed: 5);
        int n = w.Services.Length,
            f = FeatureSchema.NodeFeatureCount,
            m = FeatureSchema.MeasurementCount;
        var perm = new[] { 5, 3, 1, 0, 2, 4 }; // new position i holds old node perm[i]
        var inverse = new int[n];
        for (int i = 0; i < n; i++)
            inverse[perm[i]] = i;
        var permuted = w with
        {
            Services = perm.Select(p => w.Services[p]).ToArray(),
            NodeFeatures = perm.SelectMany(p => w.NodeFeatures.Skip(p * f).Take(f)).ToArray(),
            Measurements = perm.SelectMany(p => w.Measurements.Skip(p * m).Take(m)).ToArray(),
            Baselines = perm.SelectMany(p => w.Baselines.Skip(p * m).Take(m)).ToArray(),
            NewTemplates = perm.Select(p => w.NewTemplates[p]).ToArray(),
            Edges = w.Edges.Select(e => (inverse[e.From], inverse[e.To])).ToArray(),
        };
        var a = scorer.Score([GraphSnapshot.From(w)])[0];
        var b = scorer.Score([GraphSnapshot.From(permuted)])[0];
        for (int i = 0; i < n; i++)
            Assert.Equal(a.RootProbability[perm[i]], b.RootProbability[i], 4);
    }

    [Fact]
    public void WithheldEvidenceIsZeroedForThatGraphOnly()
    {
        var a = GraphSnapshot.From(SnapshotTests.Window(5, seed: 1));
        var b = GraphSnapshot.From(SnapshotTests.Window(4, seed: 2));
        var logs = FeatureSchema.EvidenceGroups.Single(g => g.Name == "logs");
        var traces = FeatureSchema.EvidenceGroups.Single(g => g.Name == "traces");
        Assert.Contains(
            Array.FindIndex(FeatureSchema.NodeFeatures, k => k.Name == "error_log_surprise"),
            logs.NodeFeatures
        );
        Assert.DoesNotContain(
            Array.FindIndex(FeatureSchema.NodeFeatures, k => k.Name == "cpu_usage_z"),
            logs.NodeFeatures
        );
        Assert.Contains(
            Array.FindIndex(FeatureSchema.NodeFeatures, k => k.Name == "latency_p99_z"),
            traces.NodeFeatures
        );

        using var plain = GraphBatch.Collate([a, b], CPU);
        using var masked = GraphBatch.Collate([a, b], CPU, withheld: [logs, null]);
        var x0 = plain.NodeFeatures.data<float>().ToArray();
        var x1 = masked.NodeFeatures.data<float>().ToArray();
        int f = FeatureSchema.NodeFeatureCount;
        for (int i = 0; i < a.NodeCount + b.NodeCount; i++)
        for (int k = 0; k < f; k++)
            Assert.Equal(i < a.NodeCount && logs.NodeFeatures.Contains(k) ? 0 : x0[i * f + k], x1[i * f + k]);
        // something was withheld
        Assert.Contains(logs.NodeFeatures, k => Enumerable.Range(0, a.NodeCount).Any(i => x0[i * f + k] != 0));
    }

    [Fact]
    public void SavedModelLoadsAndScoresIdentically()
    {
        var model = NewModel(7);
        var path = Path.Combine(TestData.TempDir(), "m.lwm");
        model.SaveTo(path);
        var loaded = GatModel.Load(path, CPU);
        var s = GraphSnapshot.From(SnapshotTests.Window(8));
        Assert.Equal(
            new GatScorer(model, CPU).Score([s])[0].RootProbability,
            new GatScorer(loaded, CPU).Score([s])[0].RootProbability
        );
        Assert.Equal(model.Config.FeatureSchema, loaded.Config.FeatureSchema);
    }

    [Fact]
    public void ModelRefusesSnapshotsOfAnotherFeatureSchema()
    {
        var e = Assert.Throws<InvalidDataException>(() =>
            new GatModel(new GatConfig { FeatureSchema = "lw-features/0" })
        );
        Assert.Contains("lw-features/0", e.Message);
        // not a model file
        Assert.Throws<InvalidDataException>(() => GatModel.Load(TestData.TopologyPath("online-boutique"), CPU));
    }

    [Fact]
    public void ShippedModelMatchesTheEngineSchema()
    {
        var model = GatModel.Load(TestData.ShippedModel, CPU);
        Assert.Equal(FeatureSchema.Version, model.Config.FeatureSchema);
        Assert.Contains("train", model.Config.TrainedWith);
        Assert.True(new FileInfo(TestData.ShippedModel).Length < 512 * 1024, "the shipped model stays small");
    }

    [Fact]
    public void TrainerLearnsASyntheticRootCauseRule()
    {
        // Root = the node whose feature 7 (self_time_p95_z) stands out; the others are noise. Learnable only through
        // the features.
        var rng = new Random(1);
        GraphSnapshot Make(int i)
        {
            var w = SnapshotTests.Window(4 + i % 5, "syn" + i, seed: 100 + i);
            int root = rng.Next(w.Services.Length),
                f = FeatureSchema.NodeFeatureCount;
            var x = w.NodeFeatures.Select(_ => (float)(rng.NextDouble() * 0.5)).ToArray();
            x[root * f + 7] = 3;
            bool incident = i % 4 != 0;
            if (!incident)
                x[root * f + 7] = 0.2f;
            return GraphSnapshot.From(
                w with
                {
                    NodeFeatures = x,
                },
                incident ? new SnapshotLabel(w.Services[root], FaultKind.Latency) : SnapshotLabel.Quiet
            );
        }
        var train = Enumerable.Range(0, 160).Select(Make).ToList();
        var validation = Enumerable.Range(1000, 40).Select(Make).ToList();
        var trainer = new GatTrainer(new TrainOptions { Epochs = 15, Seed = 1 }, CPU);
        trainer.Train(
            new GatConfig
            {
                Layers = 2,
                Hidden = 16,
                Heads = 2,
            },
            train,
            validation
        );
        Assert.True(
            trainer.History.Max(h => h.ValidationAc1) >= 0.9,
            $"validation AC@1 {trainer.History.Max(h => h.ValidationAc1)}"
        );
        Assert.True(trainer.History.Last().TrainLoss < trainer.History.First().TrainLoss);
    }

    [Fact]
    public void DeviceSelectionFallsBackToCpuWithoutAGpu()
    {
        var d = ComputeDevice.Select("auto");
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, d.type);
        Assert.Equal(DeviceType.CPU, ComputeDevice.Select("cpu").type);
        Assert.Throws<ArgumentException>(() => ComputeDevice.Select("tpu"));
    }
}
