namespace LogWhisperer.Simulation;

/// <summary>
/// Generates a layered mesh of N services, the shape large meshes have: an edge gateway with one route per
/// front service, tiers of services that call the tiers below (fan-out 1–4, a few calls optional), and a
/// bottom tier of shared databases, caches and queues (one store per ~8 services) that services of every
/// tier depend on, popular ones more than others. Every service is called by someone. Acyclic by
/// construction; deterministic for a seed; a 2,000-service mesh takes well under a second.
/// </summary>
public static class SyntheticTopology
{
    public const int MaxServices = 20_000;

    public static Topology Generate(
        int services,
        int seed,
        double requestsPerSecond = 50,
        CircuitBreakerSpec? circuitBreaker = null
    )
    {
        if (services < 3)
            throw new ArgumentException("a synthetic mesh needs at least 3 services");
        if (services > MaxServices)
            throw new ArgumentException($"a synthetic mesh has at most {MaxServices:N0} services");
        if (!(requestsPerSecond > 0))
            throw new ArgumentException("requests per second must be positive");
        var rng = new Random(seed);
        int shared = Math.Max(1, services / 8); // databases, caches, queues
        int middle = services - 1 - shared;
        int tiers = Math.Clamp((int)Math.Round(Math.Log2(Math.Max(2, middle))), 1, 6);
        var names = new List<List<string>> { new() { "gateway" } };
        for (int t = 0, made = 0; t < tiers; t++)
        {
            // Wider near the edge, narrower below: front services fan into fewer, busier back ends.
            int count = t == tiers - 1 ? middle - made : Math.Max(1, (int)Math.Round(middle * Weight(t, tiers)));
            count = Math.Min(count, middle - made);
            names.Add(Enumerable.Range(made, Math.Max(0, count)).Select(i => $"svc-{i:D4}").ToList());
            made += Math.Max(0, count);
        }
        string[] storeKinds = ["db", "cache", "queue"];
        names.Add(Enumerable.Range(0, shared).Select(i => $"{storeKinds[i % 3]}-{i:D3}").ToList());
        names.RemoveAll(l => l.Count == 0);
        int storeTier = names.Count - 1;

        var specs = new Dictionary<string, ServiceSpec>();
        // Operations of each tier that nobody calls yet ("service/operation"), so that every one sees traffic.
        var uncalled = names.Select(_ => new List<string>()).ToList();
        for (int t = storeTier; t >= 1; t--)
        {
            foreach (var name in names[t])
            {
                specs[name] = t == storeTier ? Store(name, rng) : Service(name, t, names, uncalled, specs, rng);
                uncalled[t].AddRange(specs[name].Operations.Keys.Select(op => $"{name}/{op}"));
            }
            if (t == storeTier)
                continue;
            // Operations one tier down that no call picked go to random services of this tier.
            foreach (var reference in uncalled[t + 1])
                specs[names[t][rng.Next(names[t].Count)]]
                    .Operations.Values.First()
                    .Calls.Add(new CallSpec { To = reference });
            uncalled[t + 1].Clear();
        }

        // The gateway: one route per front-tier operation (large meshes expose many APIs at the edge).
        var routes = new Dictionary<string, OperationSpec>();
        foreach (var reference in uncalled[1])
        {
            routes[$"route-{reference.Replace('/', '-')}"] = new OperationSpec
            {
                LatencyMs = Math.Round(0.5 + rng.NextDouble(), 2),
                Calls =
                [
                    new CallSpec
                    {
                        To = reference,
                        TimeoutMs = 5000,
                        Retries = 0,
                    },
                ],
            };
        }
        specs["gateway"] = new ServiceSpec
        {
            Kind = ServiceKind.Web,
            CpuPerRequestMs = 0.5,
            MemoryMb = 80,
            MemoryLimitMb = 256,
            Operations = routes,
        };
        var topology = new Topology
        {
            Name = $"synthetic-{services}-{seed}",
            Description = $"Generated layered mesh of {services} services (seed {seed})",
            RequestsPerSecond = requestsPerSecond,
            CircuitBreaker = circuitBreaker,
            Services = specs,
            // Popularity of edge routes is skewed (a few APIs take most traffic), as in real services.
            Entrypoints = routes
                .Keys.Select(
                    (op, i) =>
                        new EntryPoint { Operation = $"gateway/{op}", Weight = Math.Round(1.0 / (1 + i % 10), 3) }
                )
                .ToList(),
        };
        topology.Validate(topology.Name);
        return topology;
    }

    private static double Weight(int tier, int tiers)
    {
        double total = 0;
        for (int t = 0; t < tiers; t++)
            total += tiers - t / 2.0;
        return (tiers - tier / 2.0) / total;
    }

    private static ServiceSpec Store(string name, Random rng) =>
        new()
        {
            Kind =
                name.StartsWith("db") ? ServiceKind.Database
                : name.StartsWith("cache") ? ServiceKind.Cache
                : ServiceKind.Queue,
            CpuPerRequestMs = 0.2 + rng.NextDouble() * 0.5,
            MemoryMb = 200 + rng.Next(800),
            MemoryLimitMb = 2048,
            Operations = name.StartsWith("queue")
                ? new() { ["publish"] = new OperationSpec { LatencyMs = 0.3 + rng.NextDouble() } }
                : new()
                {
                    ["read"] = new OperationSpec { LatencyMs = 0.3 + rng.NextDouble() * 1.5, Jitter = 0.4 },
                    ["write"] = new OperationSpec { LatencyMs = 0.8 + rng.NextDouble() * 2, Jitter = 0.4 },
                },
        };

    private static ServiceSpec Service(
        string name,
        int tier,
        List<List<string>> names,
        List<List<string>> uncalled,
        Dictionary<string, ServiceSpec> specs,
        Random rng
    )
    {
        int storeTier = names.Count - 1;
        int ops = 1 + rng.Next(3);
        var operations = new Dictionary<string, OperationSpec>();
        for (int o = 0; o < ops; o++)
        {
            var calls = new List<CallSpec>();
            int fanOut = tier == storeTier - 1 ? rng.Next(3) : 1 + rng.Next(4);
            for (int c = 0; c < fanOut; c++)
            {
                // Mostly a service one or two tiers down; a third of calls go to a shared store, the
                // first stores more often than the last (a few hot databases).
                int target =
                    rng.NextDouble() < 0.33
                        ? storeTier
                        : Math.Min(storeTier, tier + 1 + (rng.NextDouble() < 0.8 ? 0 : 1));
                string to;
                if (c == 0 && uncalled[tier + 1].Count > 0)
                    to = Take(uncalled[tier + 1], rng);
                else
                {
                    var callee =
                        target == storeTier
                            ? names[storeTier][(int)(names[storeTier].Count * Math.Pow(rng.NextDouble(), 2))]
                            : names[target][rng.Next(names[target].Count)];
                    var calleeOps = specs[callee].Operations.Keys.ToArray();
                    to = $"{callee}/{calleeOps[rng.Next(calleeOps.Length)]}";
                    uncalled[target].Remove(to);
                }
                calls.Add(
                    new CallSpec
                    {
                        To = to,
                        Probability = c == 0 ? 1 : Math.Round(0.5 + rng.NextDouble() / 2, 2),
                        Optional = c > 0 && rng.NextDouble() < 0.2,
                    }
                );
            }
            operations[$"op{o}"] = new OperationSpec
            {
                LatencyMs = Math.Round(0.5 + rng.NextDouble() * 5, 2),
                Calls = calls.DistinctBy(c => c.To).ToList(),
            };
        }
        return new ServiceSpec
        {
            CpuPerRequestMs = Math.Round(0.5 + rng.NextDouble() * 3, 2),
            MemoryMb = 50 + rng.Next(200),
            MemoryLimitMb = 512,
            Operations = operations,
        };
    }

    private static string Take(List<string> pool, Random rng)
    {
        int i = rng.Next(pool.Count);
        var name = pool[i];
        pool[i] = pool[^1];
        pool.RemoveAt(pool.Count - 1);
        return name;
    }
}
