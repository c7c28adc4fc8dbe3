using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Formats;

/// <summary>The wire formats the engine reads, as the tools that produce them write them.</summary>
public enum TelemetryFormat
{
    /// <summary>Loki push API, JSON body:
    /// {"streams":[{"stream":{labels},"values":[["&lt;ns&gt;","&lt;line&gt;"]]}]}.</summary>
    LokiJson,

    /// <summary>Loki push API, logproto.PushRequest protobuf, snappy block compressed.</summary>
    LokiProto,

    /// <summary>One JSON log object per message, as Fluent Bit, Vector or rsyslog write them.</summary>
    JsonLogLine,

    /// <summary>Prometheus remote-write 1.0 WriteRequest protobuf, snappy block compressed.</summary>
    RemoteWrite,

    /// <summary>prometheus-kafka-adapter JSON: {"timestamp","value","name","labels"}.</summary>
    PromKafkaAdapter,

    /// <summary>OTLP traces (TracesData / ExportTraceServiceRequest), the Collector's Kafka exporter otlp_proto
    /// encoding.</summary>
    OtlpTracesProto,

    /// <summary>OTLP traces, otlp_json encoding.</summary>
    OtlpTracesJson,

    /// <summary>OTLP logs (LogsData), otlp_proto.</summary>
    OtlpLogsProto,

    /// <summary>OTLP logs, otlp_json.</summary>
    OtlpLogsJson,

    /// <summary>OTLP metrics (MetricsData / ExportMetricsServiceRequest), otlp_proto: gauges, sums, explicit-bucket
    /// histograms.</summary>
    OtlpMetricsProto,

    /// <summary>OTLP metrics, otlp_json.</summary>
    OtlpMetricsJson,

    /// <summary>Changes (deploys, rollouts, config changes), one JSON record per message or JSON lines:
    /// kubernetes-event-exporter events, Flux or Argo CD notifications, or generic {time, service, kind, version,
    /// description}. They feed the change-correlation stage, not the windows.</summary>
    Changes,
}

/// <summary>
/// Turns one message (a Kafka record value, an HTTP body) into telemetry records. A payload that cannot be
/// decoded throws <see cref="InvalidDataException"/> with the reason; the caller dead-letters it. Records
/// that decode but lack something (no service label) come out with an empty field, and the validator
/// rejects them with its usual reason.
/// </summary>
public interface ITelemetryDecoder
{
    TelemetryFormat Format { get; }
    void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output);
}

public static class TelemetryDecoders
{
    public static ITelemetryDecoder For(TelemetryFormat format, DecodeOptions options) =>
        format switch
        {
            TelemetryFormat.LokiJson => new LokiJsonDecoder(options),
            TelemetryFormat.LokiProto => new LokiProtoDecoder(options),
            TelemetryFormat.JsonLogLine => new JsonLogLineDecoder(options),
            TelemetryFormat.RemoteWrite => new RemoteWriteDecoder(options),
            TelemetryFormat.PromKafkaAdapter => new PromKafkaAdapterDecoder(options),
            TelemetryFormat.OtlpTracesProto => new OtlpTracesProtoDecoder(options),
            TelemetryFormat.OtlpTracesJson => new OtlpTracesJsonDecoder(options),
            TelemetryFormat.OtlpLogsProto => new OtlpLogsProtoDecoder(options),
            TelemetryFormat.OtlpLogsJson => new OtlpLogsJsonDecoder(options),
            TelemetryFormat.OtlpMetricsProto => new OtlpMetricsProtoDecoder(options),
            TelemetryFormat.OtlpMetricsJson => new OtlpMetricsJsonDecoder(options),
            TelemetryFormat.Changes => new ChangeRecordDecoder(options),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };

    /// <summary>Parses a format name as written in configuration and on the command line (case-insensitive, '-' or '_'
    /// ignored).</summary>
    public static TelemetryFormat Parse(string name)
    {
        var key = name.Replace("-", "").Replace("_", "");
        foreach (var f in Enum.GetValues<TelemetryFormat>())
            if (string.Equals(f.ToString(), key, StringComparison.OrdinalIgnoreCase))
                return f;
        throw new ArgumentException(
            $"unknown telemetry format '{name}' (known: {string.Join(", ", Enum.GetNames<TelemetryFormat>())})"
        );
    }
}
