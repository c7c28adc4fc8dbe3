using System.Collections.Concurrent;
using Confluent.Kafka;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogWhisperer.Kafka;

/// <summary>
/// Writes telemetry into Kafka the way a real mesh's shippers would: logs as Loki protobuf pushes, metrics as
/// remote-write requests, spans as OTLP protobuf (the Collector's otlp_proto), each to its topic, keyed by
/// cluster. Used to feed the simulator into Kafka (`logwhisperer kafka-produce`) and by tests and benchmarks.
/// </summary>
public sealed class KafkaTelemetryProducer : IDisposable
{
    public sealed record Topics(
        string Logs = DefaultTopics.LokiProto,
        string Metrics = DefaultTopics.RemoteWrite,
        string Spans = DefaultTopics.OtlpTracesProto
    )
    {
        /// <summary>The input-topic map an engine needs to read what a producer writing these topics writes.</summary>
        public IReadOnlyDictionary<string, TelemetryFormat> InputTopics() =>
            new Dictionary<string, TelemetryFormat>
            {
                [Logs] = TelemetryFormat.LokiProto,
                [Metrics] = TelemetryFormat.RemoteWrite,
                [Spans] = TelemetryFormat.OtlpTracesProto,
            };
    }

    /// <summary>How messages are keyed, and so partitioned.</summary>
    public enum Keying
    {
        /// <summary>By cluster: a cluster's telemetry stays whole on one partition number of every topic, so
        /// engines of one consumer group can share clusters (scale-out by cluster).</summary>
        Cluster,

        /// <summary>By cluster/service: one mesh spreads over every partition. Only for a single engine
        /// reading the whole topic set; engines of a group would each see part of every mesh.</summary>
        Service,
    }

    private readonly IProducer<string, byte[]> _producer;
    private readonly Topics _topics;
    public const int MaxRecordsPerMessage = 1000;

    private long _messages,
        _failed;

    public long Messages => Interlocked.Read(ref _messages);
    public long Failed => Interlocked.Read(ref _failed);

    private readonly Keying _keying;
    private readonly ILogger _log;

    // each failure logged once, all counted
    private readonly ConcurrentDictionary<(string Topic, ErrorCode Code), byte> _reported = new();

    /// <param name="log">Where failed deliveries are logged: the first of each kind per topic (<see cref="Failed"/>
    /// counts them all).</param>
    public KafkaTelemetryProducer(
        KafkaSettings settings,
        Topics? topics = null,
        Keying keying = Keying.Cluster,
        ILogger? log = null
    )
    {
        _topics = topics ?? new Topics();
        _keying = keying;
        _log = log ?? NullLogger.Instance;
        _producer = new ProducerBuilder<string, byte[]>(
            settings.Apply(
                new ProducerConfig
                {
                    EnableIdempotence = true,
                    Acks = Acks.All,
                    LingerMs = 5,
                    CompressionType = CompressionType.Lz4,
                }
            )
        ).Build();
    }

    /// <summary>The input-topic map an engine needs to read what this producer writes.</summary>
    public IReadOnlyDictionary<string, TelemetryFormat> InputTopics => _topics.InputTopics();

    /// <summary>
    /// One message per modality and service for the batch (a simulated second), keyed by cluster (by default,
    /// see <see cref="Keying"/>): everything
    /// one service graph needs lands on the same partition number of every topic (same key, same partitioner,
    /// same partition count), and the range assignor gives those co-partitions to one engine of the group —
    /// engines scale out by cluster. A cluster's telemetry stays in event-time order on its partitions.
    /// </summary>
    public void Produce(IReadOnlyList<TelemetryRecord> batch)
    {
        foreach (var service in batch.GroupBy(r => (r.Cluster, r.Service)))
        {
            var key = _keying == Keying.Cluster ? service.Key.Cluster : service.Key.Cluster + "/" + service.Key.Service;
            var logs = service.OfType<LogRecord>().ToList();
            var metrics = service.OfType<MetricSample>().ToList();
            var spans = service.OfType<SpanRecord>().ToList();
            // Chunked like the shippers' own batches, well below Kafka's 1 MB default message size.
            foreach (var chunk in logs.Chunk(MaxRecordsPerMessage))
                Send(_topics.Logs, key, TelemetryEncoder.LokiPush(chunk));
            foreach (var chunk in metrics.Chunk(MaxRecordsPerMessage))
                Send(_topics.Metrics, key, TelemetryEncoder.RemoteWrite(chunk));
            foreach (var chunk in spans.Chunk(MaxRecordsPerMessage))
                Send(_topics.Spans, key, TelemetryEncoder.OtlpTraces(chunk));
        }
    }

    public void Send(string topic, string key, byte[] value)
    {
        while (true)
        {
            try
            {
                _producer.Produce(
                    topic,
                    new Message<string, byte[]> { Key = key, Value = value },
                    report =>
                    {
                        if (!report.Error.IsError)
                            return;
                        Interlocked.Increment(ref _failed);
                        if (_reported.TryAdd((topic, report.Error.Code), 0))
                            _log.LogError(
                                "kafka: produce to {Topic} failed: "
                                    + "{Reason} (further failures of this kind are counted, not logged)",
                                topic,
                                report.Error.Reason
                            );
                    }
                );
                Interlocked.Increment(ref _messages);
                return;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(100)); // backpressure: wait for the broker to catch up
            }
        }
    }

    /// <summary>Waits for every message to be acknowledged; throws when some could not be delivered.</summary>
    public void Flush()
    {
        if (_producer.Flush(TimeSpan.FromSeconds(60)) > 0)
            throw new InvalidOperationException("kafka: messages still undelivered after 60 s");
        if (Failed > 0)
            throw new InvalidOperationException($"kafka: {Failed} message(s) could not be delivered");
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }
}
