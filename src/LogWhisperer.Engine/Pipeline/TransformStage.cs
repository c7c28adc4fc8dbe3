using LogWhisperer.Observability;

namespace LogWhisperer.Pipeline;

/// <summary>
/// A named 1 → 1 stage (as Dataflow's TransformBlock): each item becomes one output, or none where the transform
/// returns null (a warm-up window).
/// </summary>
internal sealed class TransformStage<TIn, TOut>(
    StageMetrics metrics,
    Func<TIn, TOut?> transform,
    Func<TIn, long>? countIn = null,
    Func<TOut, long>? countOut = null
) : Stage<TIn, TOut>(metrics)
    where TOut : class
{
    protected override void Process(TIn item, List<TOut> outputs)
    {
        if (transform(item) is { } output)
            outputs.Add(output);
    }

    protected override long CountIn(TIn item) => countIn?.Invoke(item) ?? 1;

    protected override long CountOut(TOut item) => countOut?.Invoke(item) ?? 1;
}
