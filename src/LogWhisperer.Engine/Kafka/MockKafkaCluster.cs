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

    // Topics are created on first use with the mock's default of 4 partitions; its brokers do not answer the
    // CreateTopics admin API, so CreateTopic goes through librdkafka's mock C API instead.

    /// <summary>
    /// Creates a topic with <paramref name="partitions"/> partitions (a no-op error if it exists). A mock partition
    /// keeps only its newest 5 MiB and 100,000 message batches (limits hard-coded in librdkafka's rdkafka_mock.c,
    /// with no property to change them), so a topic holds about partitions × 5 MiB: more partitions, more backlog.
    /// </summary>
    public void CreateTopic(string topic, int partitions)
    {
        var cluster = Native.rd_kafka_handle_mock_cluster(LibrdkafkaHandle(_handle));
        if (cluster == IntPtr.Zero)
            throw new InvalidOperationException("the client has no mock cluster");
        int error = Native.rd_kafka_mock_topic_create(cluster, topic, partitions, 1);
        if (error != 0 && error != TopicAlreadyExists)
            throw new InvalidOperationException(
                $"mock cluster: creating topic {topic} failed (librdkafka error {error})"
            );
    }

    private const int TopicAlreadyExists = 36; // RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS

    /// <summary>
    /// The client's rd_kafka_t pointer. Confluent.Kafka keeps it internal (Handle.LibrdkafkaHandle); the mock
    /// cluster's own C API needs it, and this is the one place reflection is used for it.
    /// </summary>
    private static IntPtr LibrdkafkaHandle(IClient client)
    {
        var property =
            typeof(Handle).GetProperty(
                "LibrdkafkaHandle",
                System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic
            ) ?? throw new InvalidOperationException("Confluent.Kafka no longer exposes Handle.LibrdkafkaHandle");
        var safeHandle = (System.Runtime.InteropServices.SafeHandle)property.GetValue(client.Handle)!;
        return safeHandle.DangerousGetHandle();
    }

    private static class Native
    {
        static Native() =>
            System.Runtime.InteropServices.NativeLibrary.SetDllImportResolver(
                typeof(Native).Assembly,
                (name, _, _) =>
                    name == "librdkafka" && LoadedLibrdkafka() is { } path
                        ? System.Runtime.InteropServices.NativeLibrary.Load(path)
                        : IntPtr.Zero
            );

        /// <summary>
        /// The librdkafka file Confluent.Kafka loaded. It picks one of several builds for the platform (e.g.
        /// centos8-librdkafka.so where the default one's libsasl2 is missing); the mock API must be called in
        /// that same copy, so it is found in the process's own memory map.
        /// </summary>
        private static string? LoadedLibrdkafka()
        {
            if (!File.Exists("/proc/self/maps"))
                return null;
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash >= 0 && line.AsSpan(slash).EndsWith("librdkafka.so", StringComparison.Ordinal))
                    return line[slash..];
            }
            return null;
        }

        [System.Runtime.InteropServices.DllImport("librdkafka")]
        public static extern IntPtr rd_kafka_handle_mock_cluster(IntPtr rk);

        [System.Runtime.InteropServices.DllImport(
            "librdkafka",
            CharSet = System.Runtime.InteropServices.CharSet.Ansi,
            BestFitMapping = false
        )]
        public static extern int rd_kafka_mock_topic_create(
            IntPtr mcluster,
            string topic,
            int partitionCount,
            int replicationFactor
        );
    }

    public void Dispose() => _handle.Dispose();
}
