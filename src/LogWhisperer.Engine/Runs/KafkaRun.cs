using System.Text;
using Apache.Arrow.Ipc;
using Confluent.Kafka;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogWhisperer.Runs;

/// <summary>What a Kafka run did, for the command's summary and for tests.</summary>
public sealed record KafkaRunResult(RcaPipeline Pipeline, KafkaIngestCounters Ingest, long EventsPublished, long EventsAlreadyPublished, long DeadLetters);

/// <summary>
/// The engine over Kafka: input topics → pipeline → RCA events on the output topic, undecodable input and
/// rejected records on the dead-letter topic, optionally every graph snapshot as Arrow IPC on the snapshots
/// topic. Input offsets are committed as windows complete (see <see cref="KafkaTelemetrySource"/>).
/// </summary>
public static class KafkaRun
{
    /// <param name="alsoTo">Wraps the Kafka sink, e.g. to echo events on stdout or route incidents to alert sinks as well.</param>
    /// <param name="onScored">Sees every scored snapshot (the dashboard's live graph).</param>
    /// <param name="loggers">Where Kafka client trouble (broker errors, failed commits and dead-letter writes) is logged.</param>
    public static async Task<KafkaRunResult> RunAsync(KafkaSettings settings, DecodeOptions decode, PipelineOptions options, GatScorer scorer,
        CancellationToken stop = default, CancellationToken abort = default, Func<IRcaSink, IRcaSink>? alsoTo = null, Action<ScoredSnapshot>? onScored = null,
        ILoggerFactory? loggers = null)
    {
        loggers ??= NullLoggerFactory.Instance;
        using var deadLetters = new KafkaDeadLetterSink(settings, loggers.CreateLogger<KafkaDeadLetterSink>());
        using var sink = KafkaRcaSink.Open(settings);
        using var snapshots = settings.SnapshotsTopic is null ? null
            : new ProducerBuilder<string, byte[]>(settings.Apply(new ProducerConfig { EnableIdempotence = true, Acks = Acks.All, LingerMs = 20 })).Build();
        var source = new KafkaTelemetrySource(settings, decode, deadLetters, options.Windows, loggers.CreateLogger<KafkaTelemetrySource>());
        if (options.Metrics is { } metrics)
        {
            metrics.ConsumerLag = () => source.Lag.Latest;
            metrics.KafkaMessages = () => (source.Counters.Messages, source.Counters.Undecodable);
        }
        try
        {
            var pipeline = new RcaPipeline(options, new Featurizer(options.Features), scorer, alsoTo?.Invoke(sink) ?? sink, deadLetters,
                onSnapshot: snapshots is null ? null : s => PublishSnapshot(snapshots, settings.SnapshotsTopic!, s), onScored: onScored)
            {
                OnWindowDone = source.WindowDone,
            };
            await pipeline.RunAsync(source, stop, abort);
            snapshots?.Flush(TimeSpan.FromSeconds(30));
            source.AllFlushed(); // the drain at the end of the stream completed the last windows
            source.CommitReady();
            return new KafkaRunResult(pipeline, source.Counters, sink.Written, sink.SkippedAsPublished, deadLetters.Written);
        }
        finally { source.Dispose(); }
    }

    /// <summary>Two messages per snapshot (nodes, edges), each a complete Arrow IPC stream, keyed by cluster.</summary>
    private static void PublishSnapshot(IProducer<string, byte[]> producer, string topic, GraphSnapshot snapshot)
    {
        foreach (var (table, batch) in new[] { ("nodes", snapshot.Nodes), ("edges", snapshot.Edges) })
        {
            using var buffer = new MemoryStream();
            using (var writer = new ArrowStreamWriter(buffer, batch.Schema)) { writer.WriteRecordBatch(batch); writer.WriteEnd(); }
            producer.Produce(topic, new Message<string, byte[]>
            {
                Key = snapshot.Cluster,
                Value = buffer.ToArray(),
                Headers = new Headers
                {
                    { "content-type", "application/vnd.apache.arrow.stream"u8.ToArray() },
                    { "lw-table", Encoding.UTF8.GetBytes(table) },
                    { "lw-window-start-ms", Encoding.UTF8.GetBytes(snapshot.WindowStartMs.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
                },
            });
        }
    }
}
