using System.ComponentModel;
using LogWhisperer.Decode.Formats;

namespace LogWhisperer.Cli.Configuration;

/// <summary>The Kafka clients of `engine` and `gateway`: brokers, topics, offsets.</summary>
internal sealed class KafkaSection
{
    [Description("Kafka bootstrap servers (host:port,…). Required by engine and gateway.")]
    [CliOption("--bootstrap", CliCommands.Engine | CliCommands.Gateway, "-b")]
    public string? BootstrapServers { get; set; }

    [Description("Consumer group id of the engine.")]
    [CliOption("--group", CliCommands.Engine)]
    public string GroupId { get; set; } = "logwhisperer";

    [Description(
        "Input topics, topic name → format (OtlpTracesProto, OtlpLogsProto, LokiProto, RemoteWrite, …). "
            + "Empty: the default topics, those the OpenTelemetry Collector, the gateway and kafka-produce write "
            + "(`config show` lists them)."
    )]
    [CliOption("--topic", CliCommands.Engine)]
    public Dictionary<string, TelemetryFormat> InputTopics { get; set; } = [];

    [Description("Topic for RCA events (CloudEvents JSON, keyed by cluster).")]
    [CliOption("--output-topic", CliCommands.Engine)]
    public string OutputTopic { get; set; } = "logwhisperer_rca";

    [Description("Topic for undecodable input, raw, with the reason in headers.")]
    [CliOption("--dead-letter-topic", CliCommands.Engine)]
    public string DeadLetterTopic { get; set; } = "logwhisperer_dead_letters";

    [Description("Also publish every graph snapshot (Arrow IPC) to this topic.")]
    [CliOption("--snapshots-topic", CliCommands.Engine)]
    public string? SnapshotsTopic { get; set; }

    [Description(
        "librdkafka properties for every client, property → value (security.protocol, sasl.mechanism, "
            + "sasl.username, sasl.password, ssl.ca.location, …). Values of keys naming a password, secret or key are "
            + "never logged."
    )]
    [CliOption("--kafka-config", CliCommands.Engine | CliCommands.Gateway, "-X")]
    public Dictionary<string, string> Client { get; set; } = [];

    [Description(
        "Two-stage topology (Engine:Stage Window/Score): the topic of per-(service, window) parts, keyed by "
            + "cluster."
    )]
    [CliOption("--service-windows-topic", CliCommands.Engine)]
    public string ServiceWindowsTopic { get; set; } = "logwhisperer_service_windows";

    [Description("Keep this much event time uncommitted, to rebuild baselines exactly after a restart.")]
    [CliOption("--commit-lag-minutes", CliCommands.Engine)]
    public double CommitLagMinutes { get; set; }

    [Description(
        "Wait this long for an input partition that stops delivering while the others go on, before its later records "
            + "may come too late for their windows."
    )]
    [CliOption("--partition-stall", CliCommands.Engine)]
    public double PartitionStallSeconds { get; set; } = 30;

    [Description("Stop after this many seconds with all input read (batch runs); unset = run until stopped.")]
    [CliOption("--idle-exit", CliCommands.Engine)]
    public double? IdleExitSeconds { get; set; }

    [Description(
        "At start, retry an unreachable broker with backoff for this long, then exit with code 3 and one " + "line."
    )]
    [CliOption("--connect-timeout", CliCommands.Engine)]
    public double ConnectTimeoutSeconds { get; set; } = 60;
}
