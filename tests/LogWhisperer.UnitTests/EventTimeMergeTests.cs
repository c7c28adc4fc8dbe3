using System.Runtime.CompilerServices;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

public class EventTimeMergeTests
{
    /// <summary>Batches of records at the given times, with a pause before each batch: a source slower than the others
    /// (the pause is the behaviour under test, not a wait).</summary>
    private sealed class Timed(string service, TimeSpan pause, params long[][] batches) : ITelemetrySource
    {
        public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
            [EnumeratorCancellation] CancellationToken cancellationToken
        )
        {
            foreach (var batch in batches)
            {
                await Task.Delay(pause, cancellationToken);
                yield return batch
                    .Select(ts => (TelemetryRecord)new LogRecord(ts, "c", service, LogSeverity.Info, $"{service} {ts}"))
                    .ToList();
            }
        }
    }

    private static async Task<List<TelemetryRecord>> ReadAll(ITelemetrySource source)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var all = new List<TelemetryRecord>();
        await foreach (var batch in source.ReadAsync(timeout.Token))
            all.AddRange(batch);
        return all;
    }

    [Fact]
    public async Task AFastSourceWaitsForTheSlowOneAndEverythingComesOutInEventTimeOrder()
    {
        // Logs pull whole minutes at once; metrics trickle in later, in smaller steps.
        var logs = new Timed("logs", TimeSpan.Zero, [0, 10_000, 50_000], [60_000, 110_000], [120_000]);
        var metrics = new Timed(
            "metrics",
            TimeSpan.FromMilliseconds(50),
            [5_000, 30_000],
            [55_000, 90_000],
            [100_000, 130_000]
        );
        var merged = await ReadAll(new EventTimeMerge([logs, metrics], idleAfter: TimeSpan.FromSeconds(10)));

        Assert.Equal(12, merged.Count);
        Assert.Equal(merged.Select(r => r.TimestampMs).Order(), merged.Select(r => r.TimestampMs));
    }

    [Fact]
    public async Task ASourceThatDeliversNothingHoldsNobodyBackOnceIdle()
    {
        var silent = new Silent();
        var logs = new Timed("logs", TimeSpan.Zero, [1_000, 2_000]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var first = await new EventTimeMerge([logs, silent], idleAfter: TimeSpan.FromMilliseconds(300))
            .ReadAsync(timeout.Token)
            .FirstAsync(timeout.Token);
        Assert.Equal([1_000L, 2_000L], first.Select(r => r.TimestampMs));
    }

    private sealed class Silent : ITelemetrySource
    {
        public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
            [EnumeratorCancellation] CancellationToken cancellationToken
        )
        {
            // a source that never delivers (a query with no series): the behaviour under test
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }
    }

    [Fact]
    public async Task StoppingReleasesWhatTheMergeStillHolds()
    {
        // The logs are held back by a metrics source that has not answered yet (and is not idle for an hour).
        var delivered = new TaskCompletionSource();
        var logs = new DeliversThenWaits(delivered, [1_000, 2_000], [3_000]);
        using var stop = new CancellationTokenSource();
        var merged = new List<TelemetryRecord>();
        var reading = Task.Run(async () =>
        {
            await foreach (
                var batch in new EventTimeMerge([logs, new Silent()], idleAfter: TimeSpan.FromHours(1)).ReadAsync(
                    stop.Token
                )
            )
                merged.AddRange(batch);
        });
        await delivered.Task.WaitAsync(TestData.Generous);
        Assert.Empty(merged);

        await stop.CancelAsync(); // SIGTERM: drain
        await reading.WaitAsync(TestData.Generous); // before: an OperationCanceledException, and the three records lost
        Assert.Equal([1_000L, 2_000L, 3_000L], merged.Select(r => r.TimestampMs));
    }

    /// <summary>Delivers its batches, says so once the merge has taken the last one, then waits to be
    /// stopped.</summary>
    private sealed class DeliversThenWaits(TaskCompletionSource delivered, params long[][] batches) : ITelemetrySource
    {
        public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
            [EnumeratorCancellation] CancellationToken cancellationToken
        )
        {
            foreach (var batch in batches)
                yield return batch
                    .Select(ts => (TelemetryRecord)new LogRecord(ts, "c", "logs", LogSeverity.Info, $"logs {ts}"))
                    .ToList();
            delivered.SetResult(); // resumed: the last batch is in the merge's hands
            // a source following the present: it never ends by itself
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    [Fact]
    public async Task AFailingSourceFailsTheMergedStreamWithItsError()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            ReadAll(
                new EventTimeMerge([new Timed("logs", TimeSpan.Zero, [1_000]), new Failing()], TimeSpan.FromSeconds(10))
            )
        );
        Assert.Equal("loki: HTTP 500", error.Message);
    }

    private sealed class Failing : ITelemetrySource
    {
        public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
            [EnumeratorCancellation] CancellationToken cancellationToken
        )
        {
            await Task.Yield();
            throw new InvalidDataException("loki: HTTP 500");
#pragma warning disable CS0162 // an iterator needs a yield
            yield break;
#pragma warning restore CS0162
        }
    }
}
