using System.Runtime.CompilerServices;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources;

/// <summary>Replays recorded telemetry (in event-time order) as batches of one event-time second each.</summary>
public sealed class ReplaySource(IReadOnlyList<TelemetryRecord> records) : ITelemetrySource
{
    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        var array = records as TelemetryRecord[] ?? records.ToArray();
        int i = 0;
        while (i < array.Length && !cancellationToken.IsCancellationRequested)
        {
            long second = array[i].TimestampMs / 1000;
            int start = i;
            while (i < array.Length && array[i].TimestampMs / 1000 == second)
                i++;
            yield return new ArraySegment<TelemetryRecord>(array, start, i - start);
            await Task.Yield();
        }
    }
}
