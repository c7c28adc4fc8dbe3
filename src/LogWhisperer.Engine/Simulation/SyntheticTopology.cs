namespace LogWhisperer.Simulation;

/// <summary>
/// Generates a layered mesh of N services: an edge gateway, tiers of services that call the tiers below
/// (fan-out 1–4), and a bottom tier of shared databases, caches and queues that many services depend on.
/// Acyclic by construction; deterministic for a seed.
/// </summary>
public static class SyntheticTopology
{
    public static Topology Generate(int services, int seed, double requestsPerSecond = 50)
    {
        if (services < 3) throw new ArgumentException("a synthetic mesh needs at least 3 services");
        var rng = new Random(seed);
        int shared = Math.Max(1, services / 8);                       // databases, caches, queues
        int tiers = Math.Clamp((int)Math.Round(Math.Log2(services)), 2, 6);
        int middle = services - 1 - shared;
        var names = new List<List<string>> { new() { "gateway" } };
        for (int t = 0, made = 0; t < tiers; t++)
        {
            int count = t == tiers - 1 ? middle - made : Math.Max(1, middle / tiers);
            names.Add(Enumerable.Range(made, Math.Max(0, count)).Select(i => $"svc-{i:D4}").ToList());
            made += Math.Max(0, count);
        }
        string[] storeKinds = ["db", "cache", "queue"];
        names.Add(Enumerable.Range(0, shared).Select(i => $"{storeKinds[i % 3]}-{i:D3}").ToList());
        names.RemoveAll(l => l.Count == 0);

        var specs = new Dictionary<string, ServiceSpec>();
        var called = new HashSet<string>();
        for (int t = names.Count - 1; t >= 0; t--)
        {
            foreach (var name in names[t])
            {
                bool store = t == names.Count - 1;
                int ops = store ? 2 : 1 + rng.Next(2);
                var operations = new Dictionary<string, OperationSpec>();
                for (int o = 0; o < ops; o++)
                {
                    var calls = new List<CallSpec>();
                    if (!store)
                    {
                        int fanOut = 1 + rng.Next(t == 0 ? 4 : 3);
                        for (int c = 0; c < fanOut; c++)
                        {
                            // Mostly the next tier down; sometimes straight to a shared store.
                            // The first call prefers a service of the next tier nobody calls yet, so every service sees traffic.
                            int target = rng.NextDouble() < 0.3 ? names.Count - 1 : Math.Min(names.Count - 1, t + 1 + rng.Next(2));
                            var uncalled = names[t + 1].Where(n => !called.Contains(n)).ToArray();
                            var callee = c == 0 && uncalled.Length > 0 ? uncalled[rng.Next(uncalled.Length)] : names[target][rng.Next(names[target].Count)];
                            called.Add(callee);
                            var calleeOps = specs[callee].Operations.Keys.ToArray();
                            calls.Add(new CallSpec { To = $"{callee}/{calleeOps[rng.Next(calleeOps.Length)]}", Probability = c == 0 ? 1 : 0.5 + rng.NextDouble() / 2, Optional = c > 0 && rng.NextDouble() < 0.2 });
                        }
                    }
                    string opName = store ? (o == 0 ? "read" : "write") : $"op{o}";
                    operations[opName] = new OperationSpec { LatencyMs = store ? 0.5 + rng.NextDouble() * 2 : 1 + rng.NextDouble() * 6, Calls = calls.DistinctBy(c => c.To).ToList() };
                }
                specs[name] = new ServiceSpec
                {
                    Kind = t == 0 ? ServiceKind.Web : store ? (name.StartsWith("db") ? ServiceKind.Database : name.StartsWith("cache") ? ServiceKind.Cache : ServiceKind.Queue) : ServiceKind.Service,
                    CpuPerRequestMs = 0.5 + rng.NextDouble() * 3,
                    MemoryMb = 50 + rng.Next(200),
                    MemoryLimitMb = 512,
                    Operations = operations,
                };
            }
        }
        var topology = new Topology
        {
            Name = $"synthetic-{services}-{seed}",
            Description = $"Generated layered mesh of {services} services (seed {seed})",
            RequestsPerSecond = requestsPerSecond,
            Services = specs,
            Entrypoints = specs["gateway"].Operations.Keys.Select(op => new EntryPoint { Operation = $"gateway/{op}" }).ToList(),
        };
        topology.Validate(topology.Name);
        return topology;
    }
}
