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

    /// <summary>A service of a cluster whose windows have held nothing of it (no record, no call to it) for this long
    /// is forgotten: its template miner, trace baselines and template news go, and the featurizer forgets its
    /// baselines at the same window (<see cref="Features.FeaturizerOptions.ForgetServiceAfterMs"/>, same default). So
    /// memory follows the services a mesh has now, not every one it ever had (pods and versions come and go by name).
    /// A service that comes back starts afresh, as a new one would.</summary>
    public long ForgetServiceAfterMs { get; init; } = DefaultForgetServiceAfterMs;

    /// <summary>One hour of event time: well past any incident's silence, so a service killed during one stays in the
    /// graph while it matters.</summary>
    public const long DefaultForgetServiceAfterMs = 3_600_000;

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
        if (ForgetServiceAfterMs < SizeMs)
            throw new ArgumentException("a silent service must be remembered for at least one window");
    }
}
