using System.Diagnostics;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

/// <summary>The simulator's mesh behaviours beyond single faults: circuit breaking, incident plans, shipped and
/// generated topologies.</summary>
public class ChaosSimulatorTests
{
    private static readonly long T0 = new SimulationOptions().StartMs;

    [Fact]
    public void CircuitBreakerOpensAfterConsecutiveFailuresFailsFastThenProbes()
    {
        var breaker = new CircuitBreaker(new CircuitBreakerSpec { ConsecutiveFailures = 3, OpenMs = 1000 });
        Assert.True(breaker.Allows(0));
        Assert.False(breaker.Report(true, 10));
        Assert.False(breaker.Report(false, 20)); // a success resets the count
        Assert.False(breaker.Report(true, 30));
        Assert.False(breaker.Report(true, 40));
        Assert.True(breaker.Report(true, 50)); // third in a row: open
        Assert.False(breaker.Allows(60));
        Assert.False(breaker.Allows(1049));
        Assert.True(breaker.Allows(1050)); // half-open: the probe goes out
        Assert.True(breaker.Report(true, 1060)); // the probe failed: open again at once
        Assert.False(breaker.Allows(2000));
        Assert.True(breaker.Allows(2060));
        Assert.False(breaker.Report(false, 2070)); // the probe succeeded: closed
        Assert.True(breaker.Allows(2071));
        Assert.False(breaker.Report(true, 2080)); // and counting from zero again
    }

    [Fact]
    public void EjectedDestinationIsSparedCallsAndCallersFailFast()
    {
        var plain = TestData.OnlineBoutique();
        var guarded = Topology.Parse(
            plain
                .ToJson()
                .Replace(
                    "\"requestsPerSecond\"",
                    "\"circuitBreaker\": { \"consecutiveFailures\": 5, \"openMs\": 10000 }, \"requestsPerSecond\""
                )
        );
        Assert.NotNull(guarded.CircuitBreaker);
        var fault = new Fault("productcatalogservice", FaultKind.NetworkLoss, T0 + 20_000, T0 + 80_000, 1.0);
        List<TelemetryRecord> Run(Topology t)
        {
            var sim = new ChaosSimulator(t, new SimulationOptions { Seed = 4, BenignEventsPerHour = 0 }, [fault]);
            return sim.RunUntil(T0 + 80_000).SelectMany(b => b).Where(r => r.TimestampMs >= fault.StartMs).ToList();
        }
        var without = Run(plain);
        var with = Run(guarded);
        int Served(List<TelemetryRecord> r) =>
            r.OfType<SpanRecord>().Count(s => s.Service == "productcatalogservice" && s.Kind == SpanKind.Server);
        double CallMs(List<TelemetryRecord> r) =>
            r.OfType<SpanRecord>().Where(s => s.PeerService == "productcatalogservice").Average(s => s.DurationMs);
        Assert.True(
            Served(with) < Served(without) * 0.6,
            $"ejection keeps traffic off the lossy service: {Served(with)} vs {Served(without)}"
        );
        Assert.True(CallMs(with) < CallMs(without) * 0.6, "failing fast instead of waiting for timeouts");
        Assert.Contains(
            with,
            r => r is LogRecord l && l.Message.StartsWith("outlier detection: ejecting productcatalogservice")
        );
        Assert.DoesNotContain(without, r => r is LogRecord l && l.Message.StartsWith("outlier detection"));
    }

    [Theory]
    [InlineData("\"consecutiveFailures\": 0", "consecutiveFailures must be at least 1")]
    [InlineData("\"openMs\": -5", "openMs must be positive")]
    public void NonsenseCircuitBreakerIsAClearError(string setting, string message)
    {
        var json =
            $$"""{ "name": "x", "circuitBreaker": { {{setting}} }, "services": { "a": { "operations": { "op": {} } } }, "entrypoints": [ { "operation": "a/op" } ] }""";
        Assert.Contains(message, Assert.Throws<InvalidDataException>(() => Topology.Parse(json)).Message);
    }

    [Fact]
    public void IncidentPlanPutsSlowDependenciesOnStoresAndCanOverlapFaults()
    {
        var t = Topology.Load(TestData.TopologyPath("train-ticket"));
        var plan = IncidentPlan.Create(
            t,
            40,
            5,
            T0,
            kinds: [FaultKind.SlowDependency, FaultKind.Errors],
            concurrentShare: 0.5
        );
        Assert.Equal(
            plan,
            IncidentPlan.Create(t, 40, 5, T0, kinds: [FaultKind.SlowDependency, FaultKind.Errors], concurrentShare: 0.5)
        );
        // On the one store, unless that store is already the other fault of the same incident.
        Assert.All(
            plan.Where(f => f.Kind == FaultKind.SlowDependency),
            f =>
                Assert.True(
                    f.Service == "mysql"
                        || plan.Any(g => g.Service == "mysql" && g.StartMs < f.EndMs && f.StartMs < g.EndMs),
                    f.ToString()
                )
        );
        Assert.Contains(plan, f => f.Kind == FaultKind.SlowDependency && f.Service == "mysql");
        int overlapping = plan.Count(f =>
            plan.Any(g => g != f && g.StartMs < f.EndMs && f.StartMs < g.EndMs && g.Service != f.Service)
        );
        Assert.InRange(overlapping, 20, 60);
        Assert.True(plan.Count > 40);
        // Without a share no fault overlaps another, and the plan is what it always was.
        var single = IncidentPlan.Create(t, 40, 5, T0);
        Assert.All(single.Skip(1).Zip(single), p => Assert.True(p.First.StartMs >= p.Second.EndMs));
    }

    [Fact]
    public void ShippedTopologiesHaveTheirRealServices()
    {
        var tt = Topology.Load(TestData.TopologyPath("train-ticket"));
        Assert.True(tt.Services.Count >= 40);
        Assert.Contains("ts-travel-service", tt.ServiceNames);
        Assert.Contains(("ts-travel-service", "ts-seat-service"), tt.DeclaredEdges());
        Assert.Contains(("ts-seat-service", "ts-config-service"), tt.DeclaredEdges());
        Assert.All(tt.ServiceNames.Where(s => s != "mysql"), s => Assert.StartsWith("ts-", s));
        var sock = Topology.Load(TestData.TopologyPath("sock-shop"));
        Assert.Equal(13, sock.Services.Count);
        Assert.Contains(("orders", "payment"), sock.DeclaredEdges());
        Assert.Contains(("shipping", "rabbitmq"), sock.DeclaredEdges());
        var bookinfo = Topology.Load(TestData.TopologyPath("bookinfo"));
        Assert.Equal(["details", "mongodb", "productpage", "ratings", "reviews"], bookinfo.ServiceNames);
        Assert.Contains(("reviews", "ratings"), bookinfo.DeclaredEdges());
        // Every service of every shipped mesh is reachable from the edge, so each one sees traffic.
        foreach (var t in new[] { tt, sock, bookinfo, TestData.OnlineBoutique() })
            Assert.Equal(t.ServiceNames.Order(StringComparer.Ordinal), Reachable(t).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void SyntheticMeshScalesToTwoThousandServicesWithSharedStoresAndEveryServiceCalled()
    {
        var clock = Stopwatch.StartNew();
        var t = SyntheticTopology.Generate(2000, 7, 200, new CircuitBreakerSpec());
        Assert.Equal(2000, t.Services.Count);
        Assert.Equal(t.ServiceNames.Order(StringComparer.Ordinal), Reachable(t).Order(StringComparer.Ordinal));
        var stores = t
            .Services.Where(s => s.Value.Kind is ServiceKind.Database or ServiceKind.Cache or ServiceKind.Queue)
            .Select(s => s.Key)
            .ToHashSet();
        Assert.Equal(250, stores.Count);
        Assert.Equal(3, t.Services.Where(s => stores.Contains(s.Key)).Select(s => s.Value.Kind).Distinct().Count());
        // Shared dependencies: the busiest store has many callers; fan-out stays in the range of real services.
        var callers = t.DeclaredEdges().GroupBy(e => e.To).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(stores.Max(s => callers[s]) >= 20, "hot stores are shared by many services");
        var fanOut = t.DeclaredEdges()
            .Where(e => e.From != "gateway")
            .GroupBy(e => e.From)
            .Select(g => g.Count())
            .ToList();
        Assert.InRange(fanOut.Average(), 1.5, 8);
        Assert.True(t.Entrypoints.Count >= 100, "a large mesh exposes many routes at the edge");
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1)); // generous: generation is quadratic nowhere
        // Deterministic for a seed, different for another, and round-trips as an editable file.
        Assert.Equal(t.ToJson(), SyntheticTopology.Generate(2000, 7, 200, new CircuitBreakerSpec()).ToJson());
        Assert.NotEqual(t.ToJson(), SyntheticTopology.Generate(2000, 8, 200, new CircuitBreakerSpec()).ToJson());
        Assert.Equal(t.DeclaredEdges().Order(), Topology.Parse(t.ToJson()).DeclaredEdges().Order());
    }

    [Fact]
    public void ThousandServiceMeshRunsWithAllModalities()
    {
        var t = SyntheticTopology.Generate(1000, 1, 200);
        var fault = new Fault(t.ServiceNames[10], FaultKind.CrashLoop, T0 + 2_000, T0 + 20_000, 0.8);
        var sim = new ChaosSimulator(t, new SimulationOptions { Seed = 1, IstioMetrics = true }, [fault]);
        var records = sim.RunUntil(T0 + 20_000).SelectMany(b => b).ToList();
        var withSpans = records
            .OfType<SpanRecord>()
            .Where(s => s.Kind == SpanKind.Server)
            .Select(s => s.Service)
            .ToHashSet();
        Assert.True(withSpans.Count > 600, $"{withSpans.Count} services served requests in 20 s");
        Assert.Equal(
            1000,
            records
                .OfType<MetricSample>()
                .Where(m => m.Name == "container_cpu_usage_seconds_total")
                .Select(m => m.Service)
                .Distinct()
                .Count()
        );
        Assert.Contains(records, r => r is LogRecord { Severity: LogSeverity.Fatal } l && l.Service == fault.Service);
    }

    private static HashSet<string> Reachable(Topology t)
    {
        var seen = new HashSet<string>();
        var stack = new Stack<string>(t.Entrypoints.Select(e => e.Operation));
        var visited = new HashSet<string>();
        while (stack.Count > 0)
        {
            var reference = stack.Pop();
            if (!visited.Add(reference))
                continue;
            var (service, _, spec) = t.Resolve(reference);
            seen.Add(service);
            foreach (var call in spec.Calls)
                stack.Push(call.To);
        }
        return seen;
    }
}
