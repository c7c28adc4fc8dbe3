namespace LogWhisperer.Simulation;

/// <summary>
/// A schedule of incidents for one simulated cluster: a fault-free warm-up, then faults one after another
/// with quiet gaps between, each on a random service with a random kind, intensity and duration. The
/// same seed gives the same plan.
/// </summary>
public static class IncidentPlan
{
    public static readonly FaultKind[] AllKinds = Enum.GetValues<FaultKind>();

    public static List<Fault> Create(Topology topology, int incidents, int seed, long startMs,
        long warmupMs = 5 * 60_000, long gapMs = 4 * 60_000, (long Min, long Max)? durationMs = null, IReadOnlyList<FaultKind>? kinds = null)
    {
        var rng = new Random(seed);
        var (minDuration, maxDuration) = durationMs ?? (120_000, 240_000);
        kinds ??= AllKinds;
        var services = topology.ServiceNames;
        var faults = new List<Fault>(incidents);
        long t = startMs + warmupMs;
        for (int i = 0; i < incidents; i++)
        {
            long onset = t + rng.Next(30) * 1000;
            long duration = minDuration + (long)(rng.NextDouble() * (maxDuration - minDuration));
            var kind = kinds[rng.Next(kinds.Count)];
            faults.Add(new Fault(services[rng.Next(services.Count)], kind, onset, onset + duration, 0.3 + 0.7 * rng.NextDouble()));
            t = onset + duration + gapMs;
        }
        return faults;
    }

    /// <summary>Event time at which the plan's last incident has ended and the mesh has settled.</summary>
    public static long EndOf(IReadOnlyList<Fault> faults, long startMs, long tailMs = 2 * 60_000) =>
        (faults.Count == 0 ? startMs : faults.Max(f => f.EndMs)) + tailMs;
}
