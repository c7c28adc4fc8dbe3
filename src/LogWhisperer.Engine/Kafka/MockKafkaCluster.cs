using Confluent.Kafka;

namespace LogWhisperer.Kafka;

/// <summary>
/// librdkafka's in-process mock cluster: real brokers speaking the Kafka wire protocol on local TCP ports,
/// living as long as this object. Any Kafka client (ours, kcat) can produce and consume through
/// <see cref="BootstrapServers"/>. It stands in for a broker where none can run (tests, `kafka-dev`); it
/// keeps data in memory only.
/// </summary>
public sealed class MockKafkaCluster : IDisposable
{
    private readonly IAdminClient _handle;

    public string BootstrapServers { get; }

    public MockKafkaCluster(int brokers = 3)
    {
        var config = new AdminClientConfig();
        config.Set("test.mock.num.brokers", brokers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _handle = new AdminClientBuilder(config).Build();
        var metadata = _handle.GetMetadata(TimeSpan.FromSeconds(10));
        BootstrapServers = string.Join(",", metadata.Brokers.Select(b => $"{b.Host}:{b.Port}"));
    }

    // Topics are created on first use (the mock brokers auto-create them with their default partition count);
    // librdkafka's mock has no controller, so the CreateTopics admin API is not available on it.

    public void Dispose() => _handle.Dispose();
}
