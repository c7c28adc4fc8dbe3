namespace LogWhisperer.Simulation;

/// <summary>
/// A schedule of incidents for one simulated cluster: a fault-free warm-up, then faults one after another
/// with quiet gaps between, each on a random service with a random kind, intensity and duration (a slow
/// dependency on a store), some joined by a concurrent second fault. The same seed gives the same plan.
/// </summary>
public static class IncidentPlan
{
    /// <summary>The kinds drawn by default: every kind the shipped model was trained on (ConfigChange is drawn only
    /// when asked for).</summary>
    public static readonly FaultKind[] AllKinds = Enum.GetValues<FaultKind>()
        .Where(k => k != FaultKind.ConfigChange)
        .ToArray();

    public static List<Fault> Create(
        Topology topology,
        int incidents,
        int seed,
        long startMs,
        long warmupMs = 5 * 60_000,
        long gapMs = 4 * 60_000,
        (long Min, long Max)? durationMs = null,
        IReadOnlyList<FaultKind>? kinds = null,
        double concurrentShare = 0
    )
    {
        var rng = new Random(seed);
        var (minDuration, maxDuration) = durationMs ?? (120_000, 240_000);
        kinds ??= AllKinds;
        var services = topology.ServiceNames;
        // A slow dependency is a store's fault: it goes to a database, cache or queue when the mesh has one.
        var stores = services
            .Where(s => topology.Services[s].Kind is ServiceKind.Database or ServiceKind.Cache or ServiceKind.Queue)
            .ToArray();
        var faults = new List<Fault>(incidents);
        long t = startMs + warmupMs;
        for (int i = 0; i < incidents; i++)
        {
            long onset = t + rng.Next(30) * 1000;
            long duration = minDuration + (long)(rng.NextDouble() * (maxDuration - minDuration));
            var kind = kinds[rng.Next(kinds.Count)];
            var service = Pick(kind, except: null);
            faults.Add(new Fault(service, kind, onset, onset + duration, 0.3 + 0.7 * rng.NextDouble()));
            // Sometimes a second fault hits elsewhere while the first is on (no draws at all when share is 0,
            // so plans without concurrency stay as they were).
            if (concurrentShare > 0 && services.Count > 1 && rng.NextDouble() < concurrentShare)
            {
                long start = onset + rng.Next(60) * 1000;
                var otherKind = kinds[rng.Next(kinds.Count)];
                faults.Add(
                    new Fault(
                        Pick(otherKind, service),
                        otherKind,
                        start,
                        start + duration / 2 + rng.Next(60) * 1000,
                        0.3 + 0.7 * rng.NextDouble()
                    )
                );
            }
            t = faults.Max(f => f.EndMs) + gapMs;
        }
        return faults;

        string Pick(FaultKind kind, string? except)
        {
            IReadOnlyList<string> pool =
                kind == FaultKind.SlowDependency && stores.Any(s => s != except) ? stores : services;
            if (except is not null)
                pool = pool.Where(s => s != except).ToArray();
            return pool[rng.Next(pool.Count)];
        }
    }

    /// <summary>Event time at which the plan's last incident has ended and the mesh has settled.</summary>
    public static long EndOf(IReadOnlyList<Fault> faults, long startMs, long tailMs = 2 * 60_000) =>
        (faults.Count == 0 ? startMs : faults.Max(f => f.EndMs)) + tailMs;
}
