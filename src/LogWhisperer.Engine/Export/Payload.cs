namespace LogWhisperer.Export;

/// <summary>The three telemetry streams a mesh exports, each in its own wire format.</summary>
public enum WireStream
{
    Logs,
    Metrics,
    Traces,
}

/// <summary>
/// One encoded message: a Loki push request, a Prometheus exposition document, or an OTLP
/// ExportTraceServiceRequest. <see cref="TimestampMs"/> is the event time of its first record (a key for
/// files and partitions). <see cref="Body"/> is valid only until <see cref="IPayloadSink.WriteAsync"/>
/// returns (the exporter reuses its buffer): a sink that keeps it must copy it.
/// </summary>
public sealed record Payload(WireStream Stream, string Cluster, long TimestampMs, ReadOnlyMemory<byte> Body)
{
    public string ContentType =>
        Stream switch
        {
            WireStream.Metrics => "text/plain; version=0.0.4",
            _ => "application/json",
        };
}

/// <summary>
/// Where encoded payloads go: files today; a message bus (one topic per stream, keyed by cluster) plugs in
/// by implementing this interface.
/// </summary>
public interface IPayloadSink : IAsyncDisposable
{
    ValueTask WriteAsync(Payload payload, CancellationToken cancellationToken = default);
}
