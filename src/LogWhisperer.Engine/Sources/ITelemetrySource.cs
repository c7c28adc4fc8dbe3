using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources;

/// <summary>A stream of telemetry batches into the pipeline. Ends when the source is exhausted or stopped.</summary>
public interface ITelemetrySource
{
    IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(CancellationToken cancellationToken);
}
