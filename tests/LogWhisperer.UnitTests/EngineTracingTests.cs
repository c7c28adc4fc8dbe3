using System.Diagnostics;
using LogWhisperer.Features;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Simulation;
using LogWhisperer.Sources;

namespace LogWhisperer.Tests;

public class EngineTracingTests
{
    [Fact]
    public async Task EveryStageTracesTheItemsItHandlesOnItsOwnActivitySource()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name.StartsWith(StageMetrics.ActivitySourcePrefix, StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (stopped)
                    stopped.Add(a);
            },
        };
        ActivitySource.AddActivityListener(listener);

        var sim = new ChaosSimulator(TestData.OnlineBoutique(), new SimulationOptions { Cluster = "traced", Seed = 5 });
        var records = sim.RunUntil(sim.NowMs + 5 * 60_000).SelectMany(b => b).ToList();
        var pipeline = new RcaPipeline(
            new PipelineOptions(),
            new Featurizer(new FeaturizerOptions()),
            null,
            null,
            new MemoryDeadLetterSink()
        );
        await pipeline.RunAsync(new ReplaySource(records));

        List<Activity> mine;
        lock (stopped)
            mine = stopped
                .Where(a =>
                    a.Source.Name is var n
                    && new[] { "decode", "window", "featurize", "graph" }.Any(s =>
                        n == StageMetrics.ActivitySourcePrefix + s
                    )
                )
                .ToList();
        foreach (var stage in new[] { pipeline.Decode, pipeline.Window, pipeline.Featurize, pipeline.Graph })
        {
            var spans = mine.Where(a =>
                    a.Source.Name == StageMetrics.ActivitySourcePrefix + stage.Name && a.OperationName == stage.Name
                )
                .ToList();
            Assert.NotEmpty(spans);
            // Other tests may run pipelines meanwhile: this one's items are among what the stage's source saw.
            Assert.True(spans.Sum(a => (long)a.GetTagItem("logwhisperer.items_in")!) >= stage.RecordsIn, stage.Name);
        }
    }
}
