using Confluent.Kafka;

namespace LogWhisperer.Kafka;

/// <summary>
/// Records a broker dropped before anyone read them: a partition whose low watermark is above 0. On a real
/// broker that is retention doing its job; on librdkafka's mock cluster (kafka-dev), which keeps only the newest
/// 5 MiB per partition, it silently loses a demo's oldest telemetry — so producers and fresh consumers say so.
/// </summary>
public static class RetentionCheck
{
    /// <summary>Per topic, messages no longer on the broker (sum of the partitions' low watermarks); topics with none
    /// left out.</summary>
    public static IReadOnlyDictionary<string, long> Dropped(
        KafkaSettings settings,
        IEnumerable<string> topics,
        TimeSpan? timeout = null
    ) => Check(settings, topics, group: null, timeout);

    /// <summary>
    /// Per topic, messages dropped before the consumer group <see cref="KafkaSettings.GroupId"/> read them: below
    /// the low watermark and at or above the group's committed offset (all of them where it committed nothing).
    /// </summary>
    public static IReadOnlyDictionary<string, long> DroppedUnread(
        KafkaSettings settings,
        IEnumerable<string> topics,
        TimeSpan? timeout = null
    ) => Check(settings, topics, settings.GroupId, timeout);

    private static IReadOnlyDictionary<string, long> Check(
        KafkaSettings settings,
        IEnumerable<string> topics,
        string? group,
        TimeSpan? timeout
    )
    {
        var wait = timeout ?? TimeSpan.FromSeconds(10);
        var dropped = new Dictionary<string, long>();
        using var admin = new AdminClientBuilder(settings.Apply(new AdminClientConfig()))
            .SetLogHandler((_, _) => { })
            .Build();
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(
            settings.Apply(new ConsumerConfig { GroupId = "logwhisperer-retention-check" })
        )
            .SetLogHandler((_, _) => { })
            .Build();
        using var groupConsumer = group is null
            ? null
            : new ConsumerBuilder<Ignore, Ignore>(settings.Apply(new ConsumerConfig { GroupId = group }))
                .SetLogHandler((_, _) => { })
                .Build();
        foreach (var topic in topics)
        {
            var metadata = admin.GetMetadata(topic, wait).Topics.FirstOrDefault();
            if (metadata is null || metadata.Error.IsError)
                continue;
            var partitions = metadata.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
            var committed = group is null
                ? []
                : groupConsumer!.Committed(partitions, wait).ToDictionary(c => c.Partition.Value, c => c.Offset.Value);
            long lost = partitions.Sum(tp =>
            {
                long low = consumer.QueryWatermarkOffsets(tp, wait).Low.Value;
                long from = committed.TryGetValue(tp.Partition.Value, out var c) && c >= 0 ? c : 0;
                return Math.Max(0, low - from);
            });
            if (lost > 0)
                dropped[topic] = lost;
        }
        return dropped;
    }

    /// <summary>One warning line per topic that lost messages, with how to avoid it.</summary>
    public static IEnumerable<string> Warnings(IReadOnlyDictionary<string, long> dropped) =>
        dropped.Select(d =>
            $"warning: the broker no longer holds the oldest {d.Value:N0} message(s) of topic {d.Key} (retention). "
            + "librdkafka's mock cluster (kafka-dev) keeps only 5 MiB per partition: "
            + "create the topics with more partitions (kafka-dev --partitions 64) "
            + "and spread one mesh over them (kafka-produce --key-by service), "
            + "produce less at once, or use a real broker"
        );
}
