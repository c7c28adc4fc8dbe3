using LogWhisperer.Sources;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Benchmarks;

/// <summary>Telemetry generated up front, handed to the pipeline batch by batch, so a run times the engine
/// alone.</summary>
internal sealed class ListSource(IEnumerable<IReadOnlyList<TelemetryRecord>> batches) : ITelemetrySource
{
    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        foreach (var b in batches)
            yield return b;
        await Task.CompletedTask;
    }
}
