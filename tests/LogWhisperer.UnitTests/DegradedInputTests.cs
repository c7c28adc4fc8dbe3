using LogWhisperer.Decode;
using LogWhisperer.Explain;
using LogWhisperer.Hosting;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

/// <summary>
/// The engine on spoiled input (a modality gone, traces sampled away, a skewed clock, redelivered batches):
/// it keeps emitting RCA events, and each event says which evidence it lacked.
/// </summary>
public class DegradedInputTests
{
    private static readonly Lazy<GatScorer> Shipped = new(() =>
        new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU)
    );
    private static readonly long T0 = new SimulationOptions().StartMs;
    private static readonly Fault CartLatency = new(
        "cartservice",
        FaultKind.Latency,
        T0 + 6 * 60_000,
        T0 + 9 * 60_000,
        0.7
    );

    private static async Task<(CollectingRcaSink Sink, Pipeline.RcaPipeline Pipeline)> Run(Degradation degradation)
    {
        var sink = new CollectingRcaSink();
        var pipeline = await new SimulatedRun
        {
            Topology = TestData.OnlineBoutique(),
            Faults = [CartLatency],
            Simulation = new SimulationOptions { Seed = 21 },
            Degradation = degradation,
        }.RunAsync(Shipped.Value, sink);
        return (sink, pipeline);
    }

    [Fact]
    public async Task CompleteTelemetryIsNotFlagged()
    {
        var (sink, _) = await Run(Degradation.None);
        Assert.NotEmpty(sink.Events);
        Assert.All(
            sink.Events,
            e =>
            {
                Assert.Null(e.Degraded);
                Assert.Null(e.MissingEvidence);
                Assert.Null(e.SparseEvidence);
            }
        );
        Assert.DoesNotContain("missingEvidence", sink.Events[0].ToJson());
    }

    [Fact]
    public async Task WithoutLogsEventsGoOnAndSaySo()
    {
        var (sink, _) = await Run(new Degradation { DropLogs = true });
        Assert.NotEmpty(sink.Events);
        Assert.All(
            sink.Events,
            e =>
            {
                Assert.True(e.Degraded);
                Assert.Equal([EvidenceCoverage.Logs], e.MissingEvidence);
            }
        );
        Assert.Contains("\"missingEvidence\":[\"logs\"]", sink.Events[0].ToJson());
        Assert.Contains("Judged without logs", sink.Events[0].Explanation);
    }

    [Fact]
    public async Task TracesSampledToOnePercentAreReportedSparse()
    {
        var (sink, _) = await Run(new Degradation { TraceKeepShare = 0.01 });
        Assert.NotEmpty(sink.Events);
        Assert.All(
            sink.Events,
            e => Assert.Contains(EvidenceCoverage.Traces, (e.SparseEvidence ?? []).Concat(e.MissingEvidence ?? []))
        );
    }

    [Fact]
    public async Task LogsFromASkewedClockAreCountedLateAndReportedMissing()
    {
        var (sink, pipeline) = await Run(new Degradation { LogSkewMs = 120_000 });
        Assert.True(pipeline.Counters.LateDropped > 1000, $"{pipeline.Counters.LateDropped} late");
        Assert.NotEmpty(sink.Events);
        Assert.All(sink.Events, e => Assert.Contains(EvidenceCoverage.Logs, e.MissingEvidence ?? []));
    }

    [Fact]
    public async Task RedeliveredBatchesAreDeduplicatedAndChangeNothing()
    {
        var (clean, _) = await Run(Degradation.None);
        var (redelivered, pipeline) = await Run(new Degradation { RedeliverShare = 0.3 });
        Assert.True(
            pipeline.Ingest[IngestCounters.Duplicate] > 10_000,
            $"{pipeline.Ingest[IngestCounters.Duplicate]} duplicates"
        );
        Assert.Equal(
            clean.Events.Select(e => (e.Id, e.Candidates[0].Service)),
            redelivered.Events.Select(e => (e.Id, e.Candidates[0].Service))
        );
    }
}
