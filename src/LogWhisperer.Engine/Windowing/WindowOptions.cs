namespace LogWhisperer.Windowing;

/// <summary>
/// Event-time windowing. A window [start, start+size) opens every <see cref="HopMs"/>. The watermark trails
/// the newest event time seen by <see cref="MaxOutOfOrdernessMs"/>; a window is emitted once the watermark
/// passes its end plus <see cref="AllowedLatenessMs"/>. Records for windows already emitted are late-dropped:
/// counted and dead-lettered, never silently lost.
/// </summary>
public sealed record WindowOptions
{
    public long SizeMs { get; init; } = 30_000;
    public long HopMs { get; init; } = 30_000;
    public long MaxOutOfOrdernessMs { get; init; } = 5_000;
    public long AllowedLatenessMs { get; init; } = 5_000;

    public void Validate()
    {
        if (SizeMs <= 0)
            throw new ArgumentException("window size must be positive");
        if (HopMs <= 0 || HopMs > SizeMs)
            throw new ArgumentException("window hop must be positive and at most the window size");
        if (SizeMs % HopMs != 0)
            throw new ArgumentException("window size must be a multiple of the hop");
        if (MaxOutOfOrdernessMs < 0 || AllowedLatenessMs < 0)
            throw new ArgumentException("out-of-orderness and lateness must not be negative");
    }
}
