using System.Diagnostics;
using LogWhisperer.Observability;

namespace LogWhisperer.Cli.Hosting;

/// <summary>
/// A progress line on stderr every <c>interval</c> while a long run is otherwise silent (a 2,000-service demo
/// simulates for tens of seconds before its first verdict): records taken in, windows closed and scored.
/// </summary>
internal sealed class ProgressReporter : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ProgressReporter(EngineMetrics metrics, TextWriter err, TimeSpan? interval = null)
    {
        var every = interval ?? TimeSpan.FromSeconds(10);
        var clock = Stopwatch.StartNew();
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(every);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    var stages = metrics.Stages;
                    if (stages.Count == 0)
                    {
                        err.WriteLine($"progress: {clock.Elapsed.TotalSeconds:0} s, starting");
                        continue;
                    }
                    err.WriteLine(
                        $"progress: {clock.Elapsed.TotalSeconds:0} s, {stages[0].RecordsIn:N0} records in, "
                            + $"{stages[1].RecordsOut:N0} window(s) closed, {stages[4].RecordsOut:N0} scored"
                    );
                }
            }
            catch (OperationCanceledException) { }
        });
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _stop.Dispose();
    }
}
