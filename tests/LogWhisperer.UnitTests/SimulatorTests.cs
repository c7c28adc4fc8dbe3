using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

public class SimulatorTests
{
    private static List<TelemetryRecord> Run(int seed, IReadOnlyList<Fault>? faults = null, int seconds = 120)
    {
        var sim = new ChaosSimulator(TestData.OnlineBoutique(), new SimulationOptions { Seed = seed }, faults);
        return sim.RunUntil(sim.NowMs + seconds * 1000L).SelectMany(b => b).ToList();
    }

    [Fact]
    public void SameSeedGivesIdenticalTelemetryAndOtherSeedsDiffer()
    {
        var a = Run(11);
        var b = Run(11);
        var c = Run(12);
        Assert.Equal(a.Count, b.Count);
        Assert.True(a.SequenceEqual(b), "same seed must reproduce every record");
        Assert.False(a.SequenceEqual(c));
    }

    [Fact]
    public void HealthyMeshEmitsAllThreeModalitiesForEveryService()
    {
        var records = Run(1);
        var t = TestData.OnlineBoutique();
        foreach (var service in t.ServiceNames)
        {
            Assert.Contains(records, r => r is SpanRecord { Kind: SpanKind.Server } s && s.Service == service);
            Assert.Contains(
                records,
                r => r is MetricSample m && m.Service == service && m.Name == "container_cpu_usage_seconds_total"
            );
        }
        Assert.Contains(records, r => r is LogRecord);
        double errorShare =
            records.OfType<SpanRecord>().Count(s => s.IsError) / (double)records.OfType<SpanRecord>().Count();
        Assert.InRange(errorShare, 0, 0.01);
        // Client spans name their peer, and every server span below the edge has a parent.
        Assert.All(
            records.OfType<SpanRecord>().Where(s => s.Kind == SpanKind.Client),
            s => Assert.False(string.IsNullOrEmpty(s.PeerService))
        );
        Assert.All(
            records.OfType<SpanRecord>().Where(s => s.Kind == SpanKind.Server && s.Service != "frontend"),
            s => Assert.NotNull(s.ParentSpanId)
        );
    }

    [Fact]
    public void PodKillSilencesTheServiceAndFailsItsCallers()
    {
        var start = new SimulationOptions().StartMs;
        var fault = new Fault("cartservice", FaultKind.PodKill, start + 30_000, start + 90_000, 1.0);
        var records = Run(3, [fault]);
        bool During(TelemetryRecord r) =>
            r.TimestampMs >= fault.StartMs + 2000 && r.TimestampMs < fault.StartMs + 60_000;
        Assert.DoesNotContain(
            records,
            r => r.Service == "cartservice" && During(r) && r is SpanRecord { Kind: SpanKind.Server } or MetricSample
        );
        var callsToCart = records.OfType<SpanRecord>().Where(s => During(s) && s.PeerService == "cartservice").ToList();
        Assert.NotEmpty(callsToCart);
        Assert.All(callsToCart, s => Assert.True(s.IsError));
        Assert.Contains(
            records,
            r =>
                r is LogRecord { Severity: LogSeverity.Error } l
                && l.Service == "frontend"
                && During(l)
                && l.Message.Contains("cartservice")
        );
        // After the restart the restart counter shows it.
        var restarts = records
            .OfType<MetricSample>()
            .Where(m => m.Service == "cartservice" && m.Name == "kube_pod_container_status_restarts_total")
            .ToList();
        Assert.Equal(0, restarts.First().Value);
        Assert.Equal(1, restarts.Last().Value);
    }

    [Fact]
    public void AServiceThatLogsEveryRequestLosesItsLineWhenAnExceptionOnlyItsCallerLogsCutsTheRequestShort()
    {
        var start = new SimulationOptions().StartMs;
        // An even onset second: errors that surface only in the caller (Fault.SurfacesInCaller).
        var fault = new Fault("cartservice", FaultKind.Errors, start + 30_000, start + 120_000, 1.0);
        Assert.True(fault.SurfacesInCaller);
        var options = new SimulationOptions
        {
            Seed = 4,
            SteadyLoggingShare = 1,
            InfoLogSampling = 0,
        };
        var sim = new ChaosSimulator(TestData.OnlineBoutique(), options, [fault]);
        var records = sim.RunUntil(start + 120_000).SelectMany(b => b).ToList();
        var lines = records.OfType<LogRecord>().Where(l => l.SpanId is not null).ToLookup(l => l.SpanId);
        var cart = records
            .OfType<SpanRecord>()
            .Where(s => s.Kind == SpanKind.Server && s.Service == "cartservice")
            .ToList();
        var before = cart.Where(s => s.TimestampMs < fault.StartMs && !s.IsError).ToList();
        Assert.InRange(before.Count, 100, int.MaxValue);
        // Before the fault every successful request wrote its line, though the mesh samples none (InfoLogSampling 0).
        Assert.All(before, s => Assert.Contains(lines[s.SpanId], l => l.Message.Contains(" completed status=200")));
        // During it, requests thrown part-way wrote nothing at all: only their callers log the failure.
        var during = cart.Where(s => s.TimestampMs >= fault.StartMs + 1000).ToList();
        int silent = during.Count(s => !lines[s.SpanId].Any());
        Assert.InRange(silent, during.Count / 4, during.Count);
        Assert.Contains(
            records,
            r => r is LogRecord { Severity: LogSeverity.Error, Service: "frontend" } l && l.Message.Contains("failed")
        );
    }

    [Fact]
    public void LatencyFaultPropagatesToCallersButSelfTimeStaysWithTheCause()
    {
        var start = new SimulationOptions().StartMs;
        var fault = new Fault("productcatalogservice", FaultKind.Latency, start, start + 120_000, 1.0);
        var slow = Run(5, [fault]).OfType<SpanRecord>().Where(s => s.Kind == SpanKind.Server).ToList();
        var normal = Run(5).OfType<SpanRecord>().Where(s => s.Kind == SpanKind.Server).ToList();
        double Median(IEnumerable<SpanRecord> spans, string service) =>
            spans
                .Where(s => s.Service == service)
                .Select(s => s.DurationMs)
                .Order()
                .ElementAt(spans.Count(s => s.Service == service) / 2);
        Assert.True(Median(slow, "productcatalogservice") > 10 * Median(normal, "productcatalogservice"));
        Assert.True(Median(slow, "frontend") > 5 * Median(normal, "frontend"), "callers feel the latency");
    }

    [Fact]
    public void IncidentPlanIsDeterministicAndLeavesQuietGaps()
    {
        var t = TestData.OnlineBoutique();
        var a = IncidentPlan.Create(t, 20, 9, 0);
        Assert.Equal(a, IncidentPlan.Create(t, 20, 9, 0));
        for (int i = 1; i < a.Count; i++)
            Assert.True(a[i].StartMs - a[i - 1].EndMs >= 4 * 60_000);
        Assert.True(a.Select(f => f.Kind).Distinct().Count() >= 5);
        Assert.All(a, f => Assert.Contains(f.Service, t.ServiceNames));
    }
}
