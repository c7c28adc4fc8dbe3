using System.ComponentModel;
using LogWhisperer.Decode.Formats;

namespace LogWhisperer.Cli.Configuration;

/// <summary>The Kafka clients of `engine` and `gateway`: brokers, topics, offsets.</summary>
internal sealed class KafkaSection
{
    [Description("Kafka bootstrap servers (host:port,…). Required by engine and gateway.")]
    public string? BootstrapServers { get; set; }

    [Description("Consumer group id of the engine.")]
    public string GroupId { get; set; } = "logwhisperer";

    [Description("Input topics, topic name → format (OtlpTracesProto, OtlpLogsProto, LokiProto, RemoteWrite, …). "
        + "Empty: the default topics, those the OpenTelemetry Collector, the gateway and kafka-produce write "
        + "(`config show` lists them).")]
    public Dictionary<string, TelemetryFormat> InputTopics { get; set; } = [];

    [Description("Topic for RCA events (CloudEvents JSON, keyed by cluster).")]
    public string OutputTopic { get; set; } = "logwhisperer_rca";

    [Description("Topic for undecodable input, raw, with the reason in headers.")]
    public string DeadLetterTopic { get; set; } = "logwhisperer_dead_letters";

    [Description("Also publish every graph snapshot (Arrow IPC) to this topic.")]
    public string? SnapshotsTopic { get; set; }

    [Description("librdkafka properties for every client, property → value (security.protocol, sasl.mechanism, "
        + "sasl.username, sasl.password, ssl.ca.location, …). Values of keys naming a password, secret or key are "
        + "never logged.")]
    public Dictionary<string, string> Client { get; set; } = [];

    [Description("Two-stage topology (Engine:Stage Window/Score): the topic of per-(service, window) parts, keyed by "
        + "cluster.")]
    public string ServiceWindowsTopic { get; set; } = "logwhisperer_service_windows";

    [Description("Keep this much event time uncommitted, to rebuild baselines exactly after a restart.")]
    public double CommitLagMinutes { get; set; }

    [Description("Stop after this many seconds with all input read (batch runs); unset = run until stopped.")]
    public double? IdleExitSeconds { get; set; }

    [Description("At start, retry an unreachable broker with backoff for this long, then exit with code 3 and one "
        + "line.")]
    public double ConnectTimeoutSeconds { get; set; } = 60;
}
