using LogWhisperer.Hosting;
using LogWhisperer.Sources;

namespace LogWhisperer.Tests;

/// <summary>
/// The one loop the Kafka runs share (single stage, window stage, scoring stage): a pipeline per partition
/// assignment, rebuilt after a revocation, drained on stop. The source is a stand-in that revokes as the
/// consumer's callback does: the fence first, from inside the running pipeline's read.
/// </summary>
public class RebalanceLoopTests
{
    private sealed class Source : IRevocableSource
    {
        public Action? PartitionsRevoking { get; set; }
        public int Revocations { get; private set; }
        public List<string> Calls { get; } = [];

        public void AllFlushed() => Calls.Add("all flushed");

        public void CommitReady() => Calls.Add("commit");

        /// <summary>What the consumer's revoke callback does, in its order: fence the pipeline, then count.</summary>
        public void Revoke()
        {
            PartitionsRevoking?.Invoke();
            Revocations++;
        }
    }

    private readonly Source _source = new();
    private readonly List<Assignment> _built = [];
    private readonly List<int> _fenced = [];
    private readonly CapturingLoggerProvider _logs = new();

    /// <summary>Pipeline n is the n-th built; its fence notes n.</summary>
    private int Build(Assignment assignment)
    {
        _built.Add(assignment);
        int n = _built.Count;
        assignment.OnFence(() => _fenced.Add(n));
        return n;
    }

    private Task<int> Loop(
        Func<int, Assignment, Task> run,
        CancellationToken stop = default,
        CancellationToken abort = default
    ) =>
        RebalanceLoop.RunAsync(
            _source,
            Build,
            run,
            "state is rebuilt",
            _logs.CreateLogger("loop"),
            stop,
            abort,
            beforeCommit: () => _source.Calls.Add("before commit")
        );

    [Fact]
    public async Task ARevocationFencesAndAbortsThePipelineAndTheNextAssignmentRunsAFreshOne()
    {
        int last = await Loop(
            async (n, assignment) =>
            {
                await Task.Yield();
                if (n > 1)
                    return; // the end of the input
                _source.Revoke();
                Assert.Equal([1], _fenced); // before the callback goes on to commit
                Assert.True(assignment.Fenced);
                Assert.True(assignment.Abort.IsCancellationRequested);
                throw new PartitionsRevokedException();
            }
        );

        Assert.Equal(2, last);
        Assert.False(_built[1].Fenced);
        Assert.False(_built[1].Abort.IsCancellationRequested);
        Assert.Equal([1], _fenced);
        // Only the last pipeline's end commits here (the revoked one committed in the callback); it was not
        // fenced, so what it drained was published.
        Assert.Equal(["before commit", "all flushed", "commit"], _source.Calls);
        Assert.Null(_source.PartitionsRevoking); // closing the consumer revokes too: nothing left to fence
        Assert.Contains(
            _logs.Lines,
            l => l.Contains("kafka: rebalance 1: partitions revoked; state is rebuilt from the committed offsets")
        );
    }

    [Fact]
    public async Task AStopFencesThePipelineLetsItDrainAndEndsTheLoopWithoutCountingItsWindowsDone()
    {
        using var stop = new CancellationTokenSource();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = Loop(
            async (_, _) =>
            {
                running.SetResult();
                await drained.Task;
            },
            stop.Token
        );
        await running.Task;

        await stop.CancelAsync();
        Assert.Equal([1], _fenced);
        Assert.False(_built[0].Abort.IsCancellationRequested); // a stop drains, it does not abort
        drained.SetResult();

        Assert.Equal(1, await loop);
        Assert.Single(_built);
        Assert.Equal(["before commit", "commit"], _source.Calls); // the windows flushed on stop were not published
    }

    [Fact]
    public async Task ARevocationDuringAStopEndsTheRunAsTheStopWouldWithoutAnotherPipeline()
    {
        using var stop = new CancellationTokenSource();
        int last = await Loop(
            async (n, _) =>
            {
                await Task.Yield();
                if (n > 1)
                    return; // (a wrong loop would come here: it must not)
                _source.Revoke();
                await stop.CancelAsync(); // the signal comes while the revoked pipeline is ending
                throw new PartitionsRevokedException();
            },
            stop.Token
        );

        Assert.Equal(1, last);
        Assert.Single(_built);
        Assert.Equal(["before commit", "commit"], _source.Calls);
        Assert.Contains(_logs.Lines, l => l.Contains("kafka: rebalance 1: partitions revoked"));
    }

    [Fact]
    public async Task ACancellationThatNoRevocationCausedIsAFailureEvenWhileStopping()
    {
        using var stop = new CancellationTokenSource();
        var e = await Assert.ThrowsAsync<OperationCanceledException>(() =>
            Loop(
                async (n, _) =>
                {
                    await stop.CancelAsync(); // fences, as a revocation would
                    await Task.Yield();
                    if (n > 1)
                        return; // (a wrong loop would come here: it must not)
                    throw new OperationCanceledException("a sink gave up");
                },
                stop.Token
            )
        );

        Assert.Equal("a sink gave up", e.Message);
        Assert.Single(_built);
        Assert.Empty(_source.Calls); // nothing committed past a failure
        Assert.Null(_source.PartitionsRevoking);
    }

    [Fact]
    public async Task AFailureOfARevokedPipelineOtherThanItsCancellationIsNotTakenForTheRebalance()
    {
        await Assert.ThrowsAsync<InvalidDataException>(() =>
            Loop(
                async (_, _) =>
                {
                    await Task.Yield();
                    _source.Revoke();
                    throw new InvalidDataException("broken");
                }
            )
        );
        Assert.Single(_built);
    }

    [Fact]
    public async Task AnAbortEndsTheLoopEvenMidRebalance()
    {
        using var abort = new CancellationTokenSource();
        await Assert.ThrowsAsync<PartitionsRevokedException>(() =>
            Loop(
                async (_, assignment) =>
                {
                    await abort.CancelAsync();
                    Assert.True(assignment.Abort.IsCancellationRequested);
                    _source.Revoke();
                    await Task.Yield();
                    throw new PartitionsRevokedException();
                },
                abort: abort.Token
            )
        );
        Assert.Single(_built);
        Assert.Empty(_source.Calls);
    }
}
