using System.Text;
using Confluent.Kafka;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Features;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;
using LogWhisperer.Windowing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogWhisperer.Hosting;

/// <summary>Which part of the engine a process runs.</summary>
public enum EngineStage
{
    /// <summary>The whole engine, telemetry to RCA events (<see cref="KafkaRun"/>).</summary>
    Single,

    /// <summary>Two-stage topology, first stage: telemetry keyed by service → per-(service, window) parts.</summary>
    Window,

    /// <summary>Two-stage topology, second stage: parts keyed by cluster → whole windows → RCA events.</summary>
    Score,
}

/// <summary>What a window-stage run did.</summary>
public sealed record WindowStageResult(
    RcaPipeline Pipeline,
    KafkaIngestCounters Ingest,
    long PartsWritten,
    long DeadLetters,
    int Rebalances
);

/// <summary>What a scoring-stage run did.</summary>
public sealed record ScoreStageResult(
    RcaPipeline Pipeline,
    KafkaIngestCounters Parts,
    ServiceWindowAssemblyCounters Assembly,
    long EventsPublished,
    long EventsAlreadyPublished,
    long DeadLetters,
    int Rebalances
);

/// <summary>
/// The engine split in two for a mesh too large for one instance. Window stage: engines of one group read the
/// telemetry (produced keyed by cluster and service, so each service's records land on one partition), decode
/// and window it as the single-stage engine does, and write each closed window as one part per service to the
/// service-windows topic, keyed by cluster. Scoring stage: engines of another group read that topic (a
/// cluster's parts on one partition, so one engine), regroup the parts into whole windows and run featurize →
/// graph → score → explain → sink on them. Offsets: the window stage commits its input once a window's parts
/// are acknowledged by Kafka; the scoring stage commits the parts once the window's event is published.
/// </summary>
public static class KafkaTwoStageRun
{
    /// <summary>The window stage: until stopped or idle.</summary>
    public static async Task<WindowStageResult> RunWindowStageAsync(
        KafkaSettings settings,
        DecodeOptions decode,
        PipelineOptions options,
        CancellationToken stop = default,
        CancellationToken abort = default,
        ILoggerFactory? loggers = null
    )
    {
        loggers ??= NullLoggerFactory.Instance;
        var log = loggers.CreateLogger(typeof(KafkaTwoStageRun));
        using var deadLetters = new KafkaDeadLetterSink(settings, loggers.CreateLogger<KafkaDeadLetterSink>());
        using var producer = new ProducerBuilder<string, byte[]>(
            settings.Apply(
                new ProducerConfig
                {
                    EnableIdempotence = true,
                    Acks = Acks.All,
                    LingerMs = 5,
                }
            )
        ).Build();
        var source = new KafkaTelemetrySource(
            settings,
            decode,
            deadLetters,
            options.Windows,
            loggers.CreateLogger<KafkaTelemetrySource>()
        )
        {
            PartitionsAssigned = partitions =>
                log.LogInformation("kafka: {Partitions} partition(s) assigned (window stage)", partitions.Count),
        };
        long written = 0;
        // Fencing as in KafkaRun: once the partitions are being revoked, nothing more is written and no more
        // windows count as done. Parts written before are complete windows of services this engine owned; the
        // next owner replays from the committed offsets and the scoring stage drops the repeated parts as duplicates.
        async ValueTask WriteParts(Assignment assignment, WindowAggregate window, CancellationToken ct)
        {
            if (assignment.Fenced)
                return;
            var acks = ServiceWindow
                .Split(window)
                .Select(part =>
                    producer.ProduceAsync(
                        settings.ServiceWindowsTopic,
                        new Message<string, byte[]>
                        {
                            Key = window.Cluster,
                            Value = ServiceWindowCodec.Encode(part),
                            Headers = new()
                            {
                                { "content-type", Encoding.UTF8.GetBytes(ServiceWindowCodec.ContentType) },
                            },
                        },
                        ct
                    )
                )
                .ToList();
            await Task.WhenAll(acks); // acknowledged before the window counts as done (and its input is committed)
            Interlocked.Add(ref written, acks.Count);
        }
        RcaPipeline Build(Assignment assignment) =>
            new(options, new Featurizer(options.Features), null, null, deadLetters)
            {
                OnWindowDone = (cluster, end) =>
                {
                    if (!assignment.Fenced)
                        source.WindowDone(cluster, end);
                },
            };
        try
        {
            var last = await RebalanceLoop.RunAsync(
                source,
                Build,
                (p, a) => p.RunWindowingAsync(source, (window, ct) => WriteParts(a, window, ct), stop, a.Abort),
                "state is rebuilt",
                log,
                stop,
                abort
            );
            return new WindowStageResult(
                last,
                source.Counters,
                Interlocked.Read(ref written),
                deadLetters.Written,
                source.Revocations
            );
        }
        finally
        {
            source.Dispose();
        }
    }

    /// <summary>The scoring stage: until stopped or idle.</summary>
    public static async Task<ScoreStageResult> RunScoreStageAsync(
        KafkaSettings settings,
        PipelineOptions options,
        GatScorer scorer,
        ServiceWindowAssemblyOptions assembly,
        CancellationToken stop = default,
        CancellationToken abort = default,
        Func<IRcaSink, IRcaSink>? alsoTo = null,
        ILoggerFactory? loggers = null
    )
    {
        // each window scored alone, as in KafkaRun (same events on any engine)
        options = options with
        {
            MaxScoringBatch = 1,
        };
        loggers ??= NullLoggerFactory.Instance;
        var log = loggers.CreateLogger(typeof(KafkaTwoStageRun));
        using var deadLetters = new KafkaDeadLetterSink(settings, loggers.CreateLogger<KafkaDeadLetterSink>());
        using var sink = KafkaRcaSink.Open(settings);
        var source = new KafkaServiceWindowSource(
            settings,
            deadLetters,
            options.Windows,
            assembly,
            loggers.CreateLogger<KafkaServiceWindowSource>()
        )
        {
            PartitionsAssigned = partitions =>
            {
                sink.RefreshPublished();
                log.LogInformation("kafka: {Partitions} partition(s) assigned (scoring stage)", partitions.Count);
            },
        };
        RcaPipeline Build(Assignment assignment)
        {
            var fenced = new FencedRcaSink(alsoTo?.Invoke(sink) ?? sink);
            assignment.OnFence(fenced.Close);
            return new RcaPipeline(options, new Featurizer(options.Features), scorer, fenced, deadLetters)
            {
                OnWindowDone = (cluster, end) =>
                {
                    if (!assignment.Fenced)
                        source.WindowDone(cluster, end);
                },
            };
        }
        try
        {
            var last = await RebalanceLoop.RunAsync(
                source,
                Build,
                (p, a) => p.RunWindowsAsync(source.ReadAsync(stop), stop, a.Abort),
                "windows are rebuilt",
                log,
                stop,
                abort
            );
            return new ScoreStageResult(
                last,
                source.Counters,
                source.Assembler.Counters,
                sink.Written,
                sink.SkippedAsPublished,
                deadLetters.Written,
                source.Revocations
            );
        }
        finally
        {
            source.Dispose();
        }
    }
}
