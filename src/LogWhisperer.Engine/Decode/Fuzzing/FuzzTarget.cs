using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Fuzzing;

/// <summary>
/// One decoder under fuzzing. <see cref="Seeds"/> are valid payloads before <see cref="Wrap"/> (the snappy
/// or gzip layer the wire adds): mutating the inner bytes and then wrapping them reaches the protobuf and
/// JSON parsers, while mutating the wrapped bytes exercises the decompressor.
/// </summary>
public sealed record FuzzTarget(
    string Name,
    IReadOnlyList<byte[]> Seeds,
    Func<byte[], byte[]>? Wrap,
    Action<byte[], List<TelemetryRecord>> Decode
);
