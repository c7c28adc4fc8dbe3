namespace LogWhisperer.Simulation;

/// <summary>Things that happen in every healthy mesh and must not be taken for incidents.</summary>
public enum BenignEventKind
{
    Deploy,
    LoadSpike,
    GcPause,
}

public sealed record BenignEvent(BenignEventKind Kind, string Service, long StartMs, long EndMs, double Intensity)
{
    public bool IsActive(long timeMs) => timeMs >= StartMs && timeMs < EndMs;
}
