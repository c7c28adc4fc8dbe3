namespace LogWhisperer.Telemetry;

/// <summary>The three modalities the engine reads.</summary>
public enum Modality : byte
{
    Log,
    Metric,
    Span,
}

/// <summary>
/// One decoded telemetry record. Event time is Unix milliseconds (the time the event happened at its
/// source, not when we received it): windows are built on it.
/// </summary>
public abstract record TelemetryRecord(long TimestampMs, string Cluster, string Service)
{
    public abstract Modality Modality { get; }
}

public enum LogSeverity : byte
{
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

/// <summary>
/// A log line from one service. <see cref="TraceId"/> and <see cref="SpanId"/> link it to the request it was
/// written in (OTLP log records carry them; so do many log lines, as a field or in the text): an error a caller
/// logs then points at the failing trace, and through it at the services that request passed.
/// </summary>
public sealed record LogRecord(
    long TimestampMs,
    string Cluster,
    string Service,
    LogSeverity Severity,
    string Message,
    string? TraceId = null,
    string? SpanId = null
) : TelemetryRecord(TimestampMs, Cluster, Service)
{
    public override Modality Modality => Modality.Log;
}

/// <summary>
/// One sample of a metric series belonging to a service (a gauge value, a counter's running total, or one
/// histogram bucket, as Prometheus exposes them). <see cref="Labels"/> holds the series' other labels
/// (e.g. destination_workload, le), or null when there are none.
/// </summary>
public sealed record MetricSample(
    long TimestampMs,
    string Cluster,
    string Service,
    string Name,
    double Value,
    IReadOnlyDictionary<string, string>? Labels = null
) : TelemetryRecord(TimestampMs, Cluster, Service)
{
    public override Modality Modality => Modality.Metric;
}

/// <summary>OpenTelemetry span kinds that matter to us.</summary>
public enum SpanKind : byte
{
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

/// <summary>
/// A finished span. Client spans name the called service in <see cref="PeerService"/> (OpenTelemetry's
/// peer.service / server.address), which is how an edge is seen even when the callee is down and emits
/// nothing itself.
/// </summary>
public sealed record SpanRecord(
    long TimestampMs,
    string Cluster,
    string Service,
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Operation,
    SpanKind Kind,
    string? PeerService,
    double DurationMs,
    bool IsError
) : TelemetryRecord(TimestampMs, Cluster, Service)
{
    public override Modality Modality => Modality.Span;
}
