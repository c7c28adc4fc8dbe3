using System.Threading.Channels;

namespace LogWhisperer.Pipeline;

/// <summary>How every stage ends: its output completes when its loop has run to the end, or faults with the loop's
/// exception so that the stages after it stop too.</summary>
internal static class StageOutput
{
    public static async Task CompleteAfter<T>(ChannelWriter<T> output, Func<Task> loop)
    {
        try
        {
            await loop();
            output.Complete();
        }
        catch (Exception e)
        {
            output.TryComplete(e);
            throw;
        }
    }
}
