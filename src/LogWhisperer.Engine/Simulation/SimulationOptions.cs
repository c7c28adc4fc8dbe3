namespace LogWhisperer.Simulation;

public sealed record SimulationOptions
{
    public string Cluster { get; init; } = "sim";
    public int Seed { get; init; } = 1;
    /// <summary>Event time of the first simulated second (Unix ms).</summary>
    public long StartMs { get; init; } = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    /// <summary>Scales the topology's requests per second.</summary>
    public double LoadFactor { get; init; } = 1;
    public int ScrapeIntervalMs { get; init; } = 5000;
    /// <summary>Share of successful requests that write an info log line (errors are always logged).</summary>
    public double InfoLogSampling { get; init; } = 0.3;
    /// <summary>Mean number of benign events (deploys, load spikes, GC pauses) per simulated hour.</summary>
    public double BenignEventsPerHour { get; init; } = 6;
}
