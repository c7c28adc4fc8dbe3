using System.Reflection;
using System.Runtime.InteropServices;
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

    // Topics are created on first use with the mock's default of 4 partitions. librdkafka's mock has no
    // controller, so the CreateTopics admin API is not available on it; more partitions (scale-out tests)
    // go through the mock's own C API instead.

    /// <summary>Creates a topic with this many partitions (before anything auto-creates it).</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        // Confluent.Kafka keeps the rd_kafka_t handle internal; the mock API needs it.
        var handle = _handle.Handle;
        var safe = handle.GetType().GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)?.GetValue(handle) as SafeHandle
            ?? throw new InvalidOperationException("librdkafka handle not reachable");
        var mock = Native.rd_kafka_handle_mock_cluster(safe.DangerousGetHandle());
        if (mock == IntPtr.Zero) throw new InvalidOperationException("not a mock cluster");
        int error = Native.rd_kafka_mock_topic_create(mock, name, partitions, replicationFactor);
        if (error != 0) throw new InvalidOperationException($"mock topic {name}: librdkafka error {error}");
    }

    /// <summary>
    /// The two mock functions, from the very librdkafka copy Confluent.Kafka loaded (it picks among several
    /// builds at run time, e.g. centos8-librdkafka.so where the default one lacks libsasl2).
    /// </summary>
    private static class Native
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate IntPtr HandleMockCluster(IntPtr rk);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate int MockTopicCreate(IntPtr mcluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitionCount, int replicationFactor);

        private static readonly Lazy<IntPtr> Library = new(() =>
        {
            var loaded = File.Exists("/proc/self/maps")
                ? File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault())
                    .FirstOrDefault(path => path is not null && Path.GetFileName(path).Contains("librdkafka", StringComparison.Ordinal))
                : null;
            return loaded is not null ? NativeLibrary.Load(loaded) : NativeLibrary.Load("librdkafka", typeof(IConsumer<,>).Assembly, null);
        });

        public static IntPtr rd_kafka_handle_mock_cluster(IntPtr rk) =>
            Marshal.GetDelegateForFunctionPointer<HandleMockCluster>(NativeLibrary.GetExport(Library.Value, "rd_kafka_handle_mock_cluster"))(rk);

        public static int rd_kafka_mock_topic_create(IntPtr mcluster, string topic, int partitionCount, int replicationFactor) =>
            Marshal.GetDelegateForFunctionPointer<MockTopicCreate>(NativeLibrary.GetExport(Library.Value, "rd_kafka_mock_topic_create"))(mcluster, topic, partitionCount, replicationFactor);
    }

    public void Dispose() => _handle.Dispose();
}
