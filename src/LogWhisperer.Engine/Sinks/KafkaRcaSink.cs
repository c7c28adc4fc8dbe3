using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using LogWhisperer.Explain;
using LogWhisperer.Kafka;

namespace LogWhisperer.Sinks;

/// <summary>
/// Publishes RCA events to the output topic, keyed by cluster (so one cluster's events stay in order on one
/// partition), as CloudEvents 1.0 in structured mode: the value is the CloudEvent JSON whose data is the v1
/// event, with content-type and schema-version headers. The producer is idempotent (broker-side dedupe of
/// retries), and each write waits for the broker's acknowledgement, so the pipeline only reports a window
/// done — and its input offsets are only committed — once its event is durably published.
/// On start, and again after every rebalance (<see cref="RefreshPublished"/>), the sink reads the tail of the
/// output topic and skips events for windows already published: input re-read after a crash, or after a
/// cluster moved from another engine of the group, does not publish an event twice. That holds because one
/// cluster's events are published in window order by one engine at a time (the previous owner is fenced
/// before the group reassigns, see FencedRcaSink; a killed one publishes nothing more).
/// </summary>
public sealed class KafkaRcaSink : IRcaSink, IDisposable
{
    public const string CloudEventType = "dev.logwhisperer.rca.v1";
    public const string ContentType = "application/cloudevents+json; charset=UTF-8";

    private readonly IProducer<string, byte[]> _producer;
    private readonly string _topic;
    private readonly KafkaSettings _settings;
    private readonly Dictionary<string, long> _published; // newest window end published, per cluster (lock it)
    private long _written,
        _skipped;

    public long Written => Interlocked.Read(ref _written);

    /// <summary>Events not published because the output topic already held one for that window.</summary>
    public long SkippedAsPublished => Interlocked.Read(ref _skipped);

    private KafkaRcaSink(
        KafkaSettings settings,
        Dictionary<string, long> published,
        Microsoft.Extensions.Logging.ILogger? log
    )
    {
        _settings = settings;
        _topic = settings.OutputTopic;
        _published = published;
        var builder = new ProducerBuilder<string, byte[]>(
            settings.Apply(
                new ProducerConfig
                {
                    EnableIdempotence = true,
                    Acks = Acks.All,
                    LingerMs = 0,
                }
            )
        );
        if (log is not null)
            builder.SetLogHandler(KafkaClientLog.To(log, settings)); // else librdkafka prints on stderr itself
        _producer = builder.Build();
    }

    /// <param name="log">Where the producer's client messages go (connection errors summarised, see
    /// KafkaOutageLog).</param>
    public static KafkaRcaSink Open(KafkaSettings settings, Microsoft.Extensions.Logging.ILogger? log = null) =>
        new(settings, ReadPublished(settings), log);

    public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
    {
        long end = rca.WindowEnd.ToUnixTimeMilliseconds();
        lock (_published)
            if (_published.TryGetValue(rca.Cluster, out var last) && end <= last)
            {
                Interlocked.Increment(ref _skipped);
                return;
            }
        var message = new Message<string, byte[]>
        {
            Key = rca.Cluster,
            Value = ToCloudEvent(rca),
            Headers = new Headers
            {
                { "content-type", Encoding.UTF8.GetBytes(ContentType) },
                { "schema-version", Encoding.UTF8.GetBytes(RcaEvent.SchemaId) },
                { "ce_specversion", "1.0"u8.ToArray() },
            },
        };
        await _producer.ProduceAsync(_topic, message, cancellationToken);
        lock (_published)
            _published[rca.Cluster] = end;
        Interlocked.Increment(ref _written);
    }

    /// <summary>
    /// Re-reads the output topic's tail: clusters assigned to this engine by a rebalance may have been
    /// published by another engine since this one started.
    /// </summary>
    public void RefreshPublished()
    {
        var published = ReadPublished(_settings);
        lock (_published)
            foreach (var (cluster, end) in published)
                if (!_published.TryGetValue(cluster, out var last) || end > last)
                    _published[cluster] = end;
    }

    /// <summary>The CloudEvents 1.0 JSON envelope (structured content mode) around the v1 event.</summary>
    public static byte[] ToCloudEvent(RcaEvent rca)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = RcaEvent.JsonOptions.Encoder }))
        {
            w.WriteStartObject();
            w.WriteString("specversion", "1.0");
            w.WriteString("id", rca.Id);
            w.WriteString("source", $"/logwhisperer/clusters/{rca.Cluster}");
            w.WriteString("type", CloudEventType);
            w.WriteString("time", rca.WindowEnd);
            if (rca.Candidates.Count > 0)
                w.WriteString("subject", rca.Candidates[0].Service);
            w.WriteString("datacontenttype", "application/json");
            w.WriteString("dataschema", RcaEvent.SchemaUri);
            w.WritePropertyName("data");
            JsonSerializer.Serialize(w, rca, RcaEvent.JsonOptions);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>The v1 event inside a CloudEvent written by <see cref="ToCloudEvent"/>.</summary>
    public static RcaEvent FromCloudEvent(ReadOnlySpan<byte> value)
    {
        using var doc = JsonDocument.Parse(value.ToArray());
        return doc.RootElement.GetProperty("data").Deserialize<RcaEvent>(RcaEvent.JsonOptions)
            ?? throw new InvalidDataException("CloudEvent without data");
    }

    /// <summary>Newest window end published per cluster, from the last messages of each output partition.</summary>
    private static Dictionary<string, long> ReadPublished(KafkaSettings settings, int tailPerPartition = 1000)
    {
        var published = new Dictionary<string, long>();
        using var admin = new AdminClientBuilder(settings.Apply(new AdminClientConfig())).Build();
        var topic = admin.GetMetadata(settings.OutputTopic, TimeSpan.FromSeconds(10)).Topics.FirstOrDefault();
        if (topic is null || topic.Error.IsError || topic.Partitions.Count == 0)
            return published;

        using var consumer = new ConsumerBuilder<string, byte[]>(
            settings.Apply(
                new ConsumerConfig
                {
                    GroupId = settings.GroupId + ".output-check",
                    EnableAutoCommit = false,
                    EnablePartitionEof = true,
                }
            )
        ).Build();
        foreach (var p in topic.Partitions)
        {
            var tp = new TopicPartition(settings.OutputTopic, p.PartitionId);
            var marks = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10));
            if (marks.High.Value <= marks.Low.Value)
                continue;
            consumer.Assign(
                new TopicPartitionOffset(tp, Math.Max(marks.Low.Value, marks.High.Value - tailPerPartition))
            );
            while (consumer.Consume(TimeSpan.FromSeconds(10)) is { } r && !r.IsPartitionEOF)
            {
                try
                {
                    var rca = FromCloudEvent(r.Message.Value);
                    long end = rca.WindowEnd.ToUnixTimeMilliseconds();
                    if (!published.TryGetValue(rca.Cluster, out var last) || end > last)
                        published[rca.Cluster] = end;
                }
                // not ours
                catch (Exception e) when (e is JsonException or InvalidDataException or KeyNotFoundException) { }
                if (r.Offset.Value + 1 >= marks.High.Value)
                    break;
            }
        }
        return published;
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }
}
