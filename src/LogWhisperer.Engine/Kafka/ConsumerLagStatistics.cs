using System.Text.Json;
using LogWhisperer.Observability;

namespace LogWhisperer.Kafka;

/// <summary>
/// Per-partition consumer lag from librdkafka's statistics JSON (statistics.interval.ms): topics →
/// partitions → consumer_lag. librdkafka reports -1 until it knows both the position and the high
/// watermark, and a partition "-1" for internal bookkeeping; both are left out.
/// </summary>
public sealed class ConsumerLagStatistics
{
    private volatile IReadOnlyList<PartitionLag> _latest = [];

    public IReadOnlyList<PartitionLag> Latest => _latest;

    public void Update(string statisticsJson)
    {
        var lags = new List<PartitionLag>();
        try
        {
            using var doc = JsonDocument.Parse(statisticsJson);
            if (!doc.RootElement.TryGetProperty("topics", out var topics))
                return;
            foreach (var topic in topics.EnumerateObject())
            {
                if (!topic.Value.TryGetProperty("partitions", out var partitions))
                    continue;
                foreach (var p in partitions.EnumerateObject())
                    if (
                        int.TryParse(p.Name, out int id)
                        && id >= 0
                        && p.Value.TryGetProperty("consumer_lag", out var lag)
                        && lag.GetInt64() >= 0
                    )
                        lags.Add(new PartitionLag(topic.Name, id, lag.GetInt64()));
            }
        }
        catch (JsonException)
        {
            return;
        } // a malformed statistics document keeps the last good figures
        _latest = lags.OrderBy(l => l.Topic, StringComparer.Ordinal).ThenBy(l => l.Partition).ToList();
    }
}
