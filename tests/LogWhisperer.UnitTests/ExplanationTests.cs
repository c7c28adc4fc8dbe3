using LogWhisperer.Evaluation;
using LogWhisperer.Explain;
using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Hosting;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

public class ExplanationTests
{
    /// <summary>Completeness: attributions sum to F(x) - F(baseline) for the explained logit, whether the steps run in
    /// one pass or in many.</summary>
    [Theory]
    [InlineData(6, 256)] // all steps in one pass
    [InlineData(2500, 64)] // more nodes than one pass holds: a step per pass
    public void IntegratedGradientsAreCompleteUpToTheRiemannError(int nodes, int steps)
    {
        manual_seed(5);
        var model = new GatModel(new GatConfig());
        var snapshot = GraphSnapshot.From(SnapshotTests.Window(nodes, seed: 9));
        var ig = new IntegratedGradients(model, CPU, steps).Attribute(snapshot, target: 2);
        Assert.Equal(nodes * FeatureSchema.NodeFeatureCount, ig.Length);

        var zeroWindow = SnapshotTests.Window(nodes, seed: 9);
        zeroWindow = zeroWindow with { NodeFeatures = new float[zeroWindow.NodeFeatures.Length] };
        double Logit(GraphSnapshot s)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            model.eval();
            return model.forward(GraphBatch.Collate([s], CPU)).NodeLogits[2].item<float>();
        }
        double delta = Logit(snapshot) - Logit(GraphSnapshot.From(zeroWindow));
        Assert.Equal(delta, ig.Sum(v => (double)v), Math.Max(0.05, Math.Abs(delta) * 0.05));
    }

    [Fact]
    public void PropagationPathFollowsTheStrongestAttentionUpTheCallGraph()
    {
        // a → b → d and a → c → d: d is the root, a the loudest symptom. The b hop is attended more.
        var w = SnapshotTests.Window(4) with
        {
            Edges = [(0, 1), (0, 2), (1, 3), (2, 3)],
        };
        w = w with
        {
            EdgeFeatures = new float[4 * FeatureSchema.EdgeMeasurements],
            EdgeMeasurements = new double[4 * FeatureSchema.EdgeMeasurements],
        };
        var snapshot = GraphSnapshot.From(w);
        var scored = new ScoredSnapshot(
            snapshot,
            [0.1f, 0.1f, 0.1f, 0.7f],
            0.9f,
            new float[7],
            new float[4],
            CallerAttention: [0.9f, 0.2f, 0.8f, 0.3f]
        );
        var path = PropagationPath.Find(scored, root: 3, symptom: 0);
        Assert.NotNull(path);
        Assert.Equal([3, 1, 0], path.Value.Nodes);
        Assert.Equal([0.8, 0.9], path.Value.Attention.Select(a => Math.Round(a, 2)));
        Assert.Null(PropagationPath.Find(scored, root: 0, symptom: 3)); // effects travel to callers, not callees
    }

    [Fact]
    public void ZScoreBaselineRanksTheMostDeviantServiceFirst()
    {
        var w = SnapshotTests.Window(5);
        var x = new float[w.NodeFeatures.Length];
        int f = FeatureSchema.NodeFeatureCount,
            latency = Array.FindIndex(FeatureSchema.NodeFeatures, k => k.Name == "latency_p95_z");
        x[3 * f + latency] = FeatureSchema.Squash(40);
        x[1 * f + latency] = FeatureSchema.Squash(-60); // a drop counts as much as a rise
        x[2 * f + latency] = FeatureSchema.Squash(10);
        var snapshot = GraphSnapshot.From(w with { NodeFeatures = x });
        var scores = new RobustZScoreRanker().Rank([snapshot])[0];
        Assert.Equal(1, Evaluator.RankOf(snapshot, scores, "svc-1"));
        Assert.Equal(2, Evaluator.RankOf(snapshot, scores, "svc-3"));
        Assert.Equal(6, Evaluator.RankOf(snapshot, scores, "not-there"));
    }

    [Fact]
    public void CalibrationErrorIsZeroForAPerfectlyCalibratedScorer()
    {
        // Two graphs, each with confidence 1.0 on the right node: no gap between confidence and accuracy.
        float[] logits = [50, 0, 0, 0, 50];
        Assert.Equal(0, GatTrainer.ExpectedCalibrationError(logits, [0, 4], [0, 3, 5], 1), 6);
        // Confident and wrong: the whole gap.
        Assert.Equal(1, GatTrainer.ExpectedCalibrationError(logits, [1, 3], [0, 3, 5], 1), 6);
    }

    [Fact]
    public async Task EventsCarryAttributionsAndAPropagationPath()
    {
        var scorer = new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU);
        long t0 = new SimulationOptions().StartMs;
        var fault = new Fault("redis-cart", FaultKind.Latency, t0 + 6 * 60_000, t0 + 9 * 60_000, 0.9);
        var sink = new Sinks.CollectingRcaSink();
        await new SimulatedRun
        {
            Topology = TestData.OnlineBoutique(),
            Faults = [fault],
            Simulation = new SimulationOptions { Seed = 8 },
        }.RunAsync(scorer, sink);
        var first = sink.Events.First(e => e.Candidates[0].Service == "redis-cart");
        Assert.All(first.Evidence.Features, e => Assert.True(e.Attribution > 0));
        Assert.All(first.Evidence.Neighbours, n => Assert.NotNull(n.Attribution));
        var path = first.Evidence.PropagationPath;
        Assert.NotNull(path);
        Assert.Equal("redis-cart", path[0].Service);
        Assert.Null(path[0].Attention);
        Assert.Equal("cartservice", path[1].Service); // redis-cart's only caller
    }
}
