namespace LogWhisperer.Kafka;

/// <summary>
/// Default topic names per format: the tools' own defaults where they have one (the OpenTelemetry Collector's
/// otlp_spans / otlp_logs / otlp_metrics), descriptive names otherwise. <see cref="KafkaSettings.DefaultInputTopics"/>
/// maps each to its format; the gateway and kafka-produce write to them.
/// </summary>
public static class DefaultTopics
{
    public const string OtlpTracesProto = "otlp_spans";
    public const string OtlpTracesJson = "otlp_spans_json";
    public const string OtlpLogsProto = "otlp_logs";
    public const string OtlpLogsJson = "otlp_logs_json";
    public const string OtlpMetricsProto = "otlp_metrics";
    public const string OtlpMetricsJson = "otlp_metrics_json";
    public const string LokiProto = "loki_push";
    public const string LokiJson = "loki_push_json";
    public const string RemoteWrite = "prometheus_remote_write";
}
