using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace LogWhisperer.Pipeline;

/// <summary>How every stage starts (apart from its caller) and ends: its output completes when its loop has run to
/// the end, or faults with the loop's exception so that the stages after it stop too.</summary>
internal static class StageOutput
{
    public static async Task CompleteAfter<T>(ChannelWriter<T> output, Func<Task> loop)
    {
        try
        {
            await StartApart();
            await loop();
            output.Complete();
        }
        catch (Exception e)
        {
            output.TryComplete(e);
            throw;
        }
    }

    /// <summary>
    /// Leaves the caller before a stage's loop begins, so that the pipeline starts every stage before any of them
    /// runs. Without it a stage whose input never runs dry and whose output has room (the window stage behind a fast
    /// decoder) runs the whole stream inside the call that starts it: the stages after it were not started yet, so
    /// closed windows piled up in its output channel (up to its capacity, 32 windows of a 1,000-service mesh, 2 GiB)
    /// and nothing was scored before the backlog ended.
    /// </summary>
    public static YieldAwaitable StartApart() => Task.Yield();
}
