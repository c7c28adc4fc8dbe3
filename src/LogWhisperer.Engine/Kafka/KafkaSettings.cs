using Confluent.Kafka;
using LogWhisperer.Decode.Formats;

namespace LogWhisperer.Kafka;

/// <summary>
/// Where and how the engine talks to Kafka. <see cref="ClientConfig"/> is passed through to librdkafka
/// untouched, so security (security.protocol, sasl.mechanism, sasl.username, ssl.ca.location, …) is set
/// exactly as for any other Kafka client.
/// </summary>
public sealed record KafkaSettings
{
    public required string BootstrapServers { get; init; }
    public string GroupId { get; init; } = "logwhisperer";

    /// <summary>
    /// Input topics and the format each holds. The defaults are the tools' own defaults where they have one
    /// (the OpenTelemetry Collector's otlp_spans / otlp_logs / otlp_metrics) and descriptive names otherwise.
    /// </summary>
    public IReadOnlyDictionary<string, TelemetryFormat> InputTopics { get; init; } = DefaultInputTopics;

    /// <summary>
    /// The one list of default topics: what the OpenTelemetry Collector's Kafka exporter, the ingest gateway and
    /// kafka-produce write, and so what the engine reads unless told otherwise (`config show` prints it).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, TelemetryFormat> DefaultInputTopics = new Dictionary<
        string,
        TelemetryFormat
    >
    {
        [DefaultTopics.OtlpTracesProto] = TelemetryFormat.OtlpTracesProto,
        [DefaultTopics.OtlpLogsProto] = TelemetryFormat.OtlpLogsProto,
        [DefaultTopics.OtlpMetricsProto] = TelemetryFormat.OtlpMetricsProto,
        [DefaultTopics.LokiProto] = TelemetryFormat.LokiProto,
        [DefaultTopics.RemoteWrite] = TelemetryFormat.RemoteWrite,
        // Bodies the gateway takes as JSON stay JSON on Kafka, each format on its own topic.
        [DefaultTopics.LokiJson] = TelemetryFormat.LokiJson,
        [DefaultTopics.OtlpTracesJson] = TelemetryFormat.OtlpTracesJson,
        [DefaultTopics.OtlpMetricsJson] = TelemetryFormat.OtlpMetricsJson,
    };

    /// <summary>Undecodable input goes here, raw, with the reason and source offset in headers.</summary>
    public string DeadLetterTopic { get; init; } = "logwhisperer_dead_letters";
    public string OutputTopic { get; init; } = "logwhisperer_rca";

    /// <summary>Two-stage topology: the window stage writes per-(service, window) parts here, keyed by cluster; the
    /// scoring stage reads them.</summary>
    public string ServiceWindowsTopic { get; init; } = "logwhisperer_service_windows";

    /// <summary>When set, every graph snapshot is published here as Arrow IPC (nodes and edges messages).</summary>
    public string? SnapshotsTopic { get; init; }

    /// <summary>Extra librdkafka properties for every client (security, timeouts).</summary>
    public IReadOnlyDictionary<string, string> ClientConfig { get; init; } = new Dictionary<string, string>();

    /// <summary>Records per batch handed to the pipeline.</summary>
    public int BatchRecords { get; init; } = 8192;

    /// <summary>End the stream after this long with every partition caught up and nothing new (batch runs, tests); null
    /// = run until stopped.</summary>
    public TimeSpan? StopWhenIdle { get; init; }

    /// <summary>
    /// Input offsets are committed only once the windows holding their records were emitted, and a further
    /// margin behind: on restart the engine re-reads that much event time to rebuild its baselines before it
    /// reaches new input (events for windows already published are not emitted twice, see KafkaRcaSink).
    /// </summary>
    public TimeSpan CommitLag { get; init; } = TimeSpan.Zero;

    /// <summary>How long a partition that stops delivering while the others go on holds them back (within the windows'
    /// lateness of its newest record) before the engine goes on without it; its records after that can arrive too
    /// late for their windows (dead-lettered as <c>late</c>). See <see cref="EventTimeAligner"/>.</summary>
    public TimeSpan PartitionStall { get; init; } = TimeSpan.FromSeconds(30);

    public T Apply<T>(T config)
        where T : ClientConfig
    {
        config.BootstrapServers = BootstrapServers;
        foreach (var (k, v) in ClientConfig)
            config.Set(k, v);
        return config;
    }

    /// <summary>librdkafka properties whose values are credentials (sasl.password, ssl.key.password, sasl.jaas.config,
    /// …).</summary>
    public static bool IsSecret(string key) =>
        key.Contains("password", StringComparison.OrdinalIgnoreCase)
        || key.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || key.Equals("sasl.jaas.config", StringComparison.OrdinalIgnoreCase)
        || key.Equals("ssl.key.pem", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("sasl.oauthbearer.config", StringComparison.OrdinalIgnoreCase);

    /// <summary>The client properties with credential values replaced by "***", for logs and messages.</summary>
    public IReadOnlyDictionary<string, string> RedactedClientConfig() =>
        ClientConfig.ToDictionary(p => p.Key, p => IsSecret(p.Key) ? "***" : p.Value);

    // Records print every property; this one holds credentials, so it prints them redacted.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(
            $"BootstrapServers = {BootstrapServers}, GroupId = {GroupId}, InputTopics = [{string.Join(", ", InputTopics.Select(t => $"{t.Key}={t.Value}"))}], "
        );
        builder.Append(
            $"ClientConfig = {{{string.Join(", ", RedactedClientConfig().Select(p => $"{p.Key}={p.Value}"))}}}, DeadLetterTopic = {DeadLetterTopic}, OutputTopic = {OutputTopic}"
        );
        return true;
    }

    /// <summary>Parses "topic=format" pairs as given on the command line.</summary>
    public static Dictionary<string, TelemetryFormat> ParseTopics(IEnumerable<string> pairs)
    {
        var topics = new Dictionary<string, TelemetryFormat>();
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0)
                throw new ArgumentException($"topic '{pair}' must be written topic=format");
            topics[pair[..eq]] = TelemetryDecoders.Parse(pair[(eq + 1)..]);
        }
        return topics;
    }

    /// <summary>Parses "key=value" librdkafka properties.</summary>
    public static Dictionary<string, string> ParseProperties(IEnumerable<string> pairs)
    {
        var props = new Dictionary<string, string>();
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=');
            // The text is not echoed: a mistyped "sasl.password:…" would otherwise print the password.
            if (eq <= 0)
                throw new ArgumentException(
                    "a Kafka property (-X) must be written key=value; "
                        + $"one starting '{pair[..Math.Min(pair.Length, 4)]}…' is not"
                );
            props[pair[..eq]] = pair[(eq + 1)..];
        }
        return props;
    }
}
