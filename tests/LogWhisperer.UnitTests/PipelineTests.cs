using System.Runtime.CompilerServices;
using LogWhisperer.Evaluation;
using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Hosting;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

public class PipelineTests
{
    private static readonly Lazy<GatScorer> Shipped = new(() =>
        new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU)
    );
    private static readonly long T0 = new SimulationOptions().StartMs;

    [Theory]
    [InlineData("paymentservice", FaultKind.Errors)]
    [InlineData("cartservice", FaultKind.Latency)]
    [InlineData("currencyservice", FaultKind.PodKill)]
    [InlineData("adservice", FaultKind.MemoryLeak)]
    public async Task InjectedFaultIsRankedFirst(string service, FaultKind kind)
    {
        var fault = new Fault(service, kind, T0 + 6 * 60_000, T0 + 9 * 60_000, 0.7);
        var sink = new CollectingRcaSink();
        var run = new SimulatedRun
        {
            Topology = TestData.OnlineBoutique(),
            Faults = [fault],
            Simulation = new SimulationOptions { Seed = 21 },
        };
        var pipeline = await run.RunAsync(Shipped.Value, sink);

        var report = EvaluationReport.Score([fault], sink.Events, 0);
        Assert.Equal(1, report.Incidents[0].Rank);
        Assert.Equal(0, report.FalseAlarms);
        var first = report.Incidents[0].FirstEvent!;
        Assert.Contains(service, first.Explanation);
        Assert.NotEmpty(first.Evidence.Features);
        Assert.All(first.Evidence.Features, f => Assert.Equal(service, f.Service));

        // Every stage accounted for what it received.
        Assert.Equal(pipeline.Decode.RecordsIn, pipeline.Decode.RecordsOut);
        Assert.Equal(pipeline.Decode.RecordsOut, pipeline.Window.RecordsIn);
        Assert.Equal(pipeline.Window.RecordsOut, pipeline.Featurize.RecordsIn);
        Assert.Equal(pipeline.Featurize.RecordsIn - pipeline.Counters.WarmupWindows, pipeline.Featurize.RecordsOut);
        Assert.Equal(pipeline.Graph.RecordsOut, pipeline.Score.RecordsIn);
        Assert.Equal(pipeline.Score.RecordsOut, sink.Events.Count + pipeline.Counters.QuietWindows);
        Assert.Equal(sink.Events.Count, pipeline.Sink.RecordsOut);
        Assert.All(pipeline.Stages.Take(6), s => Assert.True(s.Busy > TimeSpan.Zero, s.Name));
    }

    [Fact]
    public async Task InvalidRecordsAreDeadLetteredWithReasonsAndTheStreamGoesOn()
    {
        var good = new LogRecord(T0, "c", "svc", LogSeverity.Info, "ok");
        TelemetryRecord[] batch =
        [
            good,
            good with
            {
                Service = "",
            },
            new MetricSample(T0, "c", "svc", "cpu", double.NaN),
            new SpanRecord(T0, "c", "svc", "t", "s", null, "op", SpanKind.Server, null, -5, false),
            good with
            {
                TimestampMs = T0 / 1000,
            }, // seconds, not milliseconds
            good with
            {
                TimestampMs = T0 + 1,
            },
        ];
        var dlq = new MemoryDeadLetterSink();
        var pipeline = new RcaPipeline(new PipelineOptions(), new Featurizer(new FeaturizerOptions()), null, null, dlq);
        await pipeline.RunAsync(new ListSource([batch, batch]));
        Assert.Equal(8, pipeline.Counters.Invalid);
        // The second delivery of the same batch: its valid records are duplicates, dropped and counted.
        Assert.Equal(2, pipeline.Decode.RecordsOut);
        Assert.Equal(2, pipeline.Ingest[LogWhisperer.Decode.IngestCounters.Duplicate]);
        Assert.Equal(8, dlq.Total);
        Assert.All(dlq.Letters, l => Assert.Equal(DeadLetterCode.InvalidRecord, l.Code));
        Assert.Contains(dlq.Letters, l => l.Reason == "missing service");
        Assert.Contains(dlq.Letters, l => l.Reason.Contains("non-finite"));
        Assert.Contains(dlq.Letters, l => l.Reason.Contains("duration"));
        Assert.Contains(dlq.Letters, l => l.Reason.Contains("Unix milliseconds"));
        Assert.All(dlq.Letters, l => Assert.Equal("decode", l.Stage));
        Assert.All(dlq.Letters, l => Assert.Contains("\"Service\"", l.Payload)); // the raw record is kept
    }

    [Fact]
    public async Task ASlowConsumerStallsTheSourceInsteadOfBufferingWithoutBound()
    {
        var release = new ManualResetEventSlim(false);
        var blocked = new ManualResetEventSlim(false);
        var sim = new ChaosSimulator(TestData.OnlineBoutique(), new SimulationOptions());
        var source = new CountingSource(new SimulatorSource(sim, T0 + 4 * 3600_000L)); // 14,400 batches available
        var options = new PipelineOptions
        {
            ChannelCapacity = 2,
            Features = new FeaturizerOptions { WarmupWindows = 0 },
        };
        var pipeline = new RcaPipeline(
            options,
            new Featurizer(options.Features),
            null,
            null,
            new MemoryDeadLetterSink(),
            onSnapshot: _ =>
            {
                blocked.Set();
                release.Wait();
            }
        );
        var run = Task.Run(() => pipeline.RunAsync(source));

        // From its first snapshot on, the graph stage is blocked: the source can only fill the channels before it.
        Assert.True(
            await TestData.WaitUntilAsync(() => blocked.IsSet, TestData.Generous),
            "no window reached the graph stage"
        );
        // Then wait (however slow the machine) until the source has not moved for a full second with no work
        // queued: a pause while the thread pool is starved (the blocked stage holds one of its threads) is not a
        // stall. A stall is the absence of progress, which only a span of time can show: the delays are that
        // observation, not a wait for something to happen.
        long stalledAt = -1;
        await TestData.WaitUntilAsync(
            async () =>
            {
                long before = source.Produced;
                await Task.Delay(1000);
                return source.Produced == before && ThreadPool.PendingWorkItemCount == 0 && (stalledAt = before) > 0;
            },
            TestData.Generous
        );
        Assert.True(stalledAt > 0, "the source never stalled while the graph stage was blocked");
        Assert.InRange(stalledAt, 31, 400); // a few windows in flight, not the whole stream
        await Task.Delay(500); // observed once more (see above)
        Assert.Equal(stalledAt, source.Produced); // and it stays stalled
        release.Set();
        await run;
        Assert.Equal(14_400, source.Produced);
    }

    [Fact]
    public async Task StoppingDrainsInFlightWindowsGracefully()
    {
        using var stop = new CancellationTokenSource();
        var sim = new ChaosSimulator(TestData.OnlineBoutique(), new SimulationOptions());
        var source = new CountingSource(
            new SimulatorSource(sim, T0 + 3600_000L),
            afterBatches: 400,
            onReached: stop.Cancel
        );
        var snapshots = new List<GraphSnapshot>();
        var options = new PipelineOptions { Features = new FeaturizerOptions { WarmupWindows = 0 } };
        var pipeline = new RcaPipeline(
            options,
            new Featurizer(options.Features),
            null,
            null,
            new MemoryDeadLetterSink(),
            onSnapshot: snapshots.Add
        );
        await pipeline.RunAsync(source, stop.Token);
        Assert.InRange(source.Produced, 400, 402);
        // 400 simulated seconds = 13 full windows and a partial one; the flush emits them all.
        Assert.Equal(14, snapshots.Count);
        Assert.Equal(pipeline.Decode.RecordsIn, pipeline.Window.RecordsIn);
    }

    [Fact]
    public async Task SnapshotsWrittenByARunScoreTheSameWhenReadBack()
    {
        var dir = TestData.TempDir();
        var fault = new Fault("shippingservice", FaultKind.CpuHog, T0 + 6 * 60_000, T0 + 8 * 60_000, 0.8);
        var built = new List<GraphSnapshot>();
        var run = new SimulatedRun
        {
            Topology = TestData.OnlineBoutique(),
            Faults = [fault],
            Simulation = new SimulationOptions { Seed = 4 },
            Pipeline = new PipelineOptions { SnapshotDirectory = dir },
        };
        await run.RunAsync(Shipped.Value, new CollectingRcaSink(), onSnapshot: built.Add);
        var read = SnapshotStore.ReadAll(dir).ToList();
        Assert.Equal(built.Count, read.Count);
        var a = Shipped.Value.Score(built);
        var b = Shipped.Value.Score(read);
        for (int i = 0; i < a.Length; i++)
            Assert.Equal(a[i].RootProbability, b[i].RootProbability);
    }

    private sealed class ListSource(IEnumerable<IReadOnlyList<TelemetryRecord>> batches) : ITelemetrySource
    {
        public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
            [EnumeratorCancellation] CancellationToken cancellationToken
        )
        {
            foreach (var b in batches)
            {
                await Task.Yield();
                yield return b;
            }
        }
    }

    private sealed class CountingSource(
        ITelemetrySource inner,
        int afterBatches = int.MaxValue,
        Action? onReached = null
    ) : ITelemetrySource
    {
        private long _produced;
        public long Produced => Interlocked.Read(ref _produced);

        public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
            [EnumeratorCancellation] CancellationToken cancellationToken
        )
        {
            await foreach (var b in inner.ReadAsync(cancellationToken))
            {
                if (Interlocked.Increment(ref _produced) == afterBatches)
                    onReached?.Invoke();
                yield return b;
            }
        }
    }
}
