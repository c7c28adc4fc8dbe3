using LogWhisperer.Explain;
using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

/// <summary>RCA events made up for the tests of what consumes them (incident tracking, alert sinks, the
/// console).</summary>
internal static class SampleRcaEvents
{
    private static readonly long T0 = new SimulationOptions().StartMs;

    /// <summary>An incident event for <paramref name="service"/> in window <paramref name="window"/> (30 s windows from
    /// the simulator's start).</summary>
    public static RcaEvent Incident(
        string cluster,
        string service,
        int window,
        string kind = "Errors",
        double probability = 0.95,
        string explanation = "the service fails; config has password=hunter2 in it"
    ) =>
        new()
        {
            Id = $"rca-{cluster}-{T0 + window * 30_000L}",
            Cluster = cluster,
            WindowStart = DateTimeOffset.FromUnixTimeMilliseconds(T0 + window * 30_000L),
            WindowEnd = DateTimeOffset.FromUnixTimeMilliseconds(T0 + (window + 1) * 30_000L),
            IncidentProbability = probability,
            Candidates = [new RcaCandidate(1, service, 0.9), new RcaCandidate(2, "frontend", 0.05)],
            FaultType = new FaultGuess(kind, 0.8),
            Explanation = explanation,
            Evidence = new RcaEvidence([], [], null),
        };
}
