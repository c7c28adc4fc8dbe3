using System.Diagnostics;
using System.Runtime.CompilerServices;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources;

/// <summary>
/// The chaos simulator as a pipeline source: one batch per simulated second until <paramref name="endMs"/>.
/// With <paramref name="speed"/> = 0 it runs as fast as the pipeline takes it; otherwise it paces event time
/// at that multiple of real time (1 = live). Changes the simulator makes (rollouts, configuration changes) go to
/// <paramref name="changes"/> as they happen.
/// </summary>
public sealed class SimulatorSource(
    ChaosSimulator simulator,
    long endMs,
    double speed = 0,
    Changes.ChangeLog? changes = null
) : ITelemetrySource
{
    private int _changesSent;

    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        var clock = Stopwatch.StartNew();
        long first = simulator.NowMs;
        while (simulator.NowMs < endMs && !cancellationToken.IsCancellationRequested)
        {
            if (speed > 0)
            {
                var due = TimeSpan.FromMilliseconds((simulator.NowMs - first) / speed);
                if (due > clock.Elapsed)
                {
                    try
                    {
                        await Task.Delay(due - clock.Elapsed, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        yield break;
                    }
                }
            }
            var batch = simulator.NextSecond();
            if (changes is not null)
                while (_changesSent < simulator.Changes.Count)
                    changes.Add(simulator.Changes[_changesSent++]);
            yield return batch;
        }
    }
}
