using System.Text;
using Apache.Arrow.Ipc;
using Confluent.Kafka;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Kafka;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogWhisperer.Hosting;

/// <summary>What a Kafka run did, for the command's summary and for tests.</summary>
/// <param name="Pipeline">The last pipeline (each rebalance starts a new one); its counters are the whole
/// run's.</param>
/// <param name="Rebalances">Rebalances that took this engine's partitions (each one rebuilt its state from
/// Kafka).</param>
public sealed record KafkaRunResult(
    RcaPipeline Pipeline,
    KafkaIngestCounters Ingest,
    long EventsPublished,
    long EventsAlreadyPublished,
    long DeadLetters,
    int Rebalances
)
{
    /// <summary>The dead letters by code, e.g. "late 7,283" (empty when there were none).</summary>
    public string DeadLettersByCode { get; init; } = "";
}

/// <summary>
/// The engine over Kafka: input topics → pipeline → RCA events on the output topic, undecodable input and
/// rejected records on the dead-letter topic, optionally every graph snapshot as Arrow IPC on the snapshots
/// topic. Input offsets are committed as windows complete (see <see cref="KafkaTelemetrySource"/>).
/// Delivery: every RCA event is published exactly once per (cluster, window) across crashes, restarts and
/// rebalances, as long as one engine at a time owns a cluster's partitions (true for crashed and cleanly
/// leaving engines; a stalled engine that the group expelled but that still runs is not fenced by Kafka here).
/// Window state is never checkpointed: it is rebuilt by replaying the input from the committed offsets,
/// which trail the published windows by <see cref="KafkaSettings.CommitLag"/> of event time — with the lag
/// at least the baseline history (FeaturizerOptions.BaselineWindows windows) the rebuilt baselines are the
/// uninterrupted run's, so the events are too. Replayed windows already published are skipped by the sink.
/// </summary>
public static class KafkaRun
{
    /// <param name="alsoTo">Wraps the Kafka sink, e.g. to echo events on stdout or route incidents to alert sinks as
    /// well.</param>
    /// <param name="onScored">Sees every scored snapshot (the dashboard's live graph).</param>
    /// <param name="loggers">Where Kafka client trouble (broker errors, failed commits and dead-letter writes) is
    /// logged.</param>
    public static async Task<KafkaRunResult> RunAsync(
        KafkaSettings settings,
        DecodeOptions decode,
        PipelineOptions options,
        GatScorer scorer,
        CancellationToken stop = default,
        CancellationToken abort = default,
        Func<IRcaSink, IRcaSink>? alsoTo = null,
        Action<ScoredSnapshot>? onScored = null,
        ILoggerFactory? loggers = null
    )
    {
        // Every window is scored alone. Batched, a window's scores are the same up to the last bits of float
        // sums (the attention softmax is per node, GroupOps.EdgeSoftmax), but the events carry rounded scores
        // and the exactly-once comparison after a rebalance is byte for byte; alone, a window scores
        // identically on any engine of the group and after any restart (about 2 ms per 100-service window).
        options = options with
        {
            MaxScoringBatch = 1,
        };
        if (settings.InputTopics.Values.Contains(Decode.Formats.TelemetryFormat.Changes))
        {
            // A changes topic feeds the change-correlation stage after scoring.
            var changes = options.Changes ?? new Changes.ChangeLog();
            decode = decode with { Changes = changes };
            options = options with { Changes = changes };
        }
        loggers ??= NullLoggerFactory.Instance;
        var log = loggers.CreateLogger(typeof(KafkaRun));
        using var deadLetters = new KafkaDeadLetterSink(settings, loggers.CreateLogger<KafkaDeadLetterSink>());
        using var sink = KafkaRcaSink.Open(settings, loggers.CreateLogger<KafkaRcaSink>());
        using var snapshots = settings.SnapshotsTopic is null
            ? null
            : new ProducerBuilder<string, byte[]>(
                settings.Apply(
                    new ProducerConfig
                    {
                        EnableIdempotence = true,
                        Acks = Acks.All,
                        LingerMs = 20,
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
            // Another engine may have published for the clusters this one now owns.
            PartitionsAssigned = partitions =>
            {
                sink.RefreshPublished();
                if (options.Metrics is { } m)
                    m.AssignedPartitions = partitions.Count;
                log.LogInformation("kafka: {Partitions} partition(s) assigned", partitions.Count);
            },
        };
        if (options.Metrics is { } metrics)
        {
            metrics.ConsumerLag = () => source.Lag.Latest;
            metrics.KafkaMessages = () => (source.Counters.Messages, source.Counters.Undecodable);
        }
        var counters = new PipelineCounters(); // over every pipeline of the run
        RcaPipeline Build(Assignment assignment)
        {
            // Fenced when revoked, or stopped (Ctrl-C) on a live stream (see Assignment.Fenced).
            var fenced = new FencedRcaSink(alsoTo?.Invoke(sink) ?? sink);
            assignment.OnFence(fenced.Close);
            return new RcaPipeline(
                options,
                new Featurizer(options.Features),
                scorer,
                fenced,
                deadLetters,
                onSnapshot: snapshots is null ? null : s => PublishSnapshot(snapshots, settings.SnapshotsTopic!, s),
                onScored: onScored
            )
            {
                Counters = counters,
                // A fenced pipeline's windows were not published: they must not commit their input.
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
                (p, a) => p.RunAsync(source, stop, a.Abort),
                "state is rebuilt",
                log,
                stop,
                abort,
                beforeCommit: () => snapshots?.Flush(TimeSpan.FromSeconds(30))
            );
            return new KafkaRunResult(
                last,
                source.Counters,
                sink.Written,
                sink.SkippedAsPublished,
                deadLetters.Written,
                source.Revocations
            )
            {
                DeadLettersByCode = deadLetters.ByCode(),
            };
        }
        finally
        {
            source.Dispose();
        }
    }

    /// <summary>Two messages per snapshot (nodes, edges), each a complete Arrow IPC stream, keyed by cluster.</summary>
    private static void PublishSnapshot(IProducer<string, byte[]> producer, string topic, GraphSnapshot snapshot)
    {
        foreach (var (table, batch) in new[] { ("nodes", snapshot.Nodes), ("edges", snapshot.Edges) })
        {
            using var buffer = new MemoryStream();
            using (var writer = new ArrowStreamWriter(buffer, batch.Schema))
            {
                writer.WriteRecordBatch(batch);
                writer.WriteEnd();
            }
            producer.Produce(
                topic,
                new Message<string, byte[]>
                {
                    Key = snapshot.Cluster,
                    Value = buffer.ToArray(),
                    Headers = new Headers
                    {
                        { "content-type", "application/vnd.apache.arrow.stream"u8.ToArray() },
                        { "lw-table", Encoding.UTF8.GetBytes(table) },
                        {
                            "lw-window-start-ms",
                            Encoding.UTF8.GetBytes(
                                snapshot.WindowStartMs.ToString(System.Globalization.CultureInfo.InvariantCulture)
                            )
                        },
                    },
                }
            );
        }
    }
}
