using LogWhisperer.Sources;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Hosting;

/// <summary>
/// One partition assignment's pipeline, as <see cref="RebalanceLoop"/> runs it. A rebalance that takes the
/// partitions fences it and aborts it; stopping the run fences it and lets it drain.
/// </summary>
internal sealed class Assignment
{
    private volatile bool _fenced;
    private volatile bool _revoked;
    private Action? _fences;

    internal Assignment(CancellationToken abort) => Abort = abort;

    /// <summary>The run's abort, also cancelled when a rebalance takes the partitions.</summary>
    public CancellationToken Abort { get; }

    /// <summary>
    /// Publish nothing more and report no more windows done: a rebalance is taking the partitions (their next
    /// owner publishes), or the run is stopping on a live stream (open windows are incomplete: they are not
    /// flushed out as events, the next engine to own the partitions replays them from the committed offsets).
    /// </summary>
    public bool Fenced => _fenced;

    /// <summary>
    /// Runs <paramref name="fence"/> (e.g. closing a FencedRcaSink) when the assignment is fenced: in the revoke
    /// callback, before the revoked partitions' offsets are committed, or when the run is stopped. Register
    /// while building the pipeline, before it runs.
    /// </summary>
    public void OnFence(Action fence) => _fences += fence;

    internal bool Revoked => _revoked;

    // Fenced is set before the fences run: a window done meanwhile is not committed (replayed and skipped as
    // already published by the next owner), never committed while its event was dropped.
    internal void Fence()
    {
        _fenced = true;
        _fences?.Invoke();
    }

    internal void Revoke()
    {
        _revoked = true;
        Fence();
    }
}

/// <summary>
/// The engine's life in a consumer group: one pipeline per partition assignment. A rebalance fences the running
/// pipeline (it publishes nothing more, its done windows are committed) and aborts it; the next pipeline replays
/// from the committed offsets — window state is never carried across. The loop ends when a pipeline ends
/// without a revocation (end of input, idle, stop), then commits what that pipeline finished.
/// </summary>
internal static class RebalanceLoop
{
    /// <param name="build">A fresh pipeline for an assignment (registers its fences).</param>
    /// <param name="run">Runs it to its end, <see cref="Assignment.Abort"/> as its abort.</param>
    /// <param name="rebuilt">What the log line says is rebuilt after a rebalance ("state is rebuilt").</param>
    /// <param name="beforeCommit">Runs after the last pipeline, before its input is committed.</param>
    /// <returns>The last pipeline.</returns>
    public static async Task<T> RunAsync<T>(
        IRevocableSource source,
        Func<Assignment, T> build,
        Func<T, Assignment, Task> run,
        string rebuilt,
        ILogger log,
        CancellationToken stop,
        CancellationToken abort,
        Action? beforeCommit = null
    )
    {
        while (true)
        {
            using var generation = CancellationTokenSource.CreateLinkedTokenSource(abort);
            var assignment = new Assignment(generation.Token);
            var pipeline = build(assignment);
            source.PartitionsRevoking = () =>
            {
                assignment.Revoke();
                generation.Cancel();
            };
            using var stopping = stop.Register(assignment.Fence);
            try
            {
                await run(pipeline, assignment);
            }
            // Only a revocation of this assignment starts another: fenced alone (the stop also fences) is not
            // enough, or an OperationCanceledException of a stopping pipeline's own (a sink's timeout) would be
            // taken for a rebalance and swallowed. Revoked and stopped (a signal during a rebalance): the run
            // ends as on any stop, without a pipeline that would read nothing; the revocation committed already.
            catch (OperationCanceledException) when (assignment.Revoked && !abort.IsCancellationRequested)
            {
                log.LogInformation(
                    "kafka: rebalance {Rebalance}: partitions revoked; {Rebuilt} from the committed offsets",
                    source.Revocations,
                    rebuilt
                );
                if (!stop.IsCancellationRequested)
                    continue;
            }
            // The final revocation (closing the consumer) has nothing to fence.
            finally
            {
                source.PartitionsRevoking = null;
            }
            beforeCommit?.Invoke();
            // Not fenced: the drain at the end of the stream completed the last windows, and published them.
            if (!assignment.Fenced)
                source.AllFlushed();
            source.CommitReady();
            return pipeline;
        }
    }
}
