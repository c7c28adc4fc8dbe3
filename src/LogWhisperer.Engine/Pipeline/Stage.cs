using System.Diagnostics;
using System.Threading.Channels;
using LogWhisperer.Observability;

namespace LogWhisperer.Pipeline;

/// <summary>
/// A named pipeline stage, 1 → N: reads its input channel to the end, hands each item to <see cref="Process"/>
/// (timed and traced under the stage's name), writes what came out downstream, and then completes its output,
/// or faults it so that the stages after it stop too. As Dataflow's TransformManyBlock;
/// <see cref="TransformStage{TIn,TOut}"/> is the 1 → 1 form. Outputs go through one list the stage reuses, so
/// passing a batch on allocates nothing.
/// </summary>
internal abstract class Stage<TIn, TOut>(StageMetrics metrics)
{
    private readonly List<TOut> _outputs = [];

    public StageMetrics Metrics => metrics;

    /// <summary>Handles one input item, adding what it produces (possibly nothing) to
    /// <paramref name="outputs"/>.</summary>
    protected abstract void Process(TIn item, List<TOut> outputs);

    /// <summary>Called once the input is complete: what the stage still holds (open windows) goes out here.</summary>
    protected virtual void Complete(List<TOut> outputs) { }

    /// <summary>How many records an item counts for in the stage's metrics (a batch counts its records).</summary>
    protected virtual long CountIn(TIn item) => 1;

    protected virtual long CountOut(TOut item) => 1;

    public Task RunAsync(ChannelReader<TIn> input, ChannelWriter<TOut> output, CancellationToken abort) =>
        StageOutput.CompleteAfter(
            output,
            async () =>
            {
                await foreach (var item in input.ReadAllAsync(abort))
                {
                    using var activity = metrics.Tracing.StartActivity(metrics.Name);
                    long t0 = Stopwatch.GetTimestamp();
                    Process(item, _outputs);
                    metrics.AddBusy(t0);
                    long n = CountIn(item);
                    metrics.AddIn(n);
                    activity?.SetTag("logwhisperer.items_in", n).SetTag("logwhisperer.items_out", _outputs.Count);
                    await WriteOutputs(output, abort);
                }
                long t1 = Stopwatch.GetTimestamp();
                Complete(_outputs);
                metrics.AddBusy(t1);
                await WriteOutputs(output, abort);
            }
        );

    private async ValueTask WriteOutputs(ChannelWriter<TOut> output, CancellationToken abort)
    {
        foreach (var item in _outputs)
        {
            await output.WriteAsync(item, abort);
            metrics.AddOut(CountOut(item));
        }
        _outputs.Clear();
    }
}
