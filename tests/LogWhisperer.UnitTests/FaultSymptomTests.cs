using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

/// <summary>
/// Every fault kind, injected into every shipped topology, leaves the symptom it should in the telemetry,
/// one a fault-free run of the same seed does not show.
/// </summary>
public class FaultSymptomTests
{
    private static readonly long T0 = new SimulationOptions().StartMs;
    private const long Onset = 30_000,
        Duration = 100_000,
        End = 140_000;

    public static TheoryData<string, string, FaultKind, bool> Cases()
    {
        // A busy inner service per topology, and the store it depends on for slow dependencies.
        var targets = new Dictionary<string, (string Service, string Store)>
        {
            ["online-boutique"] = ("cartservice", "redis-cart"),
            ["sock-shop"] = ("carts", "carts-db"),
            ["bookinfo"] = ("reviews", "mongodb"),
            ["train-ticket"] = ("ts-seat-service", "mysql"),
        };
        var data = new TheoryData<string, string, FaultKind, bool>();
        foreach (var (topology, (service, store)) in targets)
        foreach (var kind in Enum.GetValues<FaultKind>())
        {
            data.Add(topology, kind == FaultKind.SlowDependency ? store : service, kind, false);
            // Errors and BadDeploy also in the form that surfaces only in the caller (Fault.SurfacesInCaller).
            if (kind is FaultKind.Errors or FaultKind.BadDeploy)
                data.Add(topology, service, kind, true);
        }
        return data;
    }

    [Fact]
    public void EveryShippedTopologyIsCovered()
    {
        var covered = Cases().Select(c => (string)c[0]).ToHashSet();
        var shipped = Directory
            .GetFiles(Path.Combine(TestData.RepoRoot, "topologies"), "*.json")
            .Select(f => Path.GetFileNameWithoutExtension(f)!)
            .ToHashSet();
        Assert.Equal(shipped, covered);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FaultLeavesItsSymptom(string topologyName, string service, FaultKind kind, bool surfacesInCaller)
    {
        var topology = Topology.Load(TestData.TopologyPath(topologyName));
        // The variant is chosen by the onset second's parity (T0 is a whole even second).
        long onset = T0 + Onset + (surfacesInCaller ? 0 : 1000);
        var fault = new Fault(service, kind, onset, onset + Duration, 0.7);
        Assert.Equal(surfacesInCaller && kind is FaultKind.Errors or FaultKind.BadDeploy, fault.SurfacesInCaller);
        var faulty = Measure(topology, service, [fault]);
        var healthy = Measure(topology, service, []);
        string context = $"{kind} on {topologyName}/{service}: faulty {faulty}, healthy {healthy}";
        Assert.True(healthy.ServerSpans > 50, $"the target must see traffic: {context}");
        Assert.True(
            surfacesInCaller ? SymptomInCaller(kind, faulty, healthy) : Symptom(kind, faulty, healthy),
            context
        );
        // The fault-free run is quiet by the same yardsticks.
        Assert.True(healthy.ErrorShare < 0.02 && healthy.Restarts == 0 && healthy.FatalLogs == 0, context);
    }

    private static bool Symptom(FaultKind kind, Window f, Window h) =>
        kind switch
        {
            FaultKind.Latency => f.MedianMs > 3 * h.MedianMs + 20,
            FaultKind.Errors => f.ErrorShare > 0.1 && f.CallerErrorShare > h.CallerErrorShare + 0.05,
            FaultKind.PodKill => f.SilentSeconds >= 15 && f.CallerErrorShare > 0.1 && f.Restarts >= 1,
            FaultKind.CpuHog => f.CpuCores > h.CpuCores + 0.4 && f.MedianMs > 1.5 * h.MedianMs,
            FaultKind.MemoryLeak => f.MaxMemoryBytes > 1.5 * h.MaxMemoryBytes || f.Restarts >= 1,
            FaultKind.NetworkLoss => f.CallerErrorShare > 0.1 && f.ErrorShare < 0.05, // loudest at the callers
            FaultKind.BadDeploy => f.NewTemplateErrors > 0 && f.ErrorShare > 0.05 && f.Restarts >= 1,
            FaultKind.CrashLoop => f.Restarts >= 2 && f.FatalLogs >= 2 && f.SilentSeconds >= 10,
            FaultKind.SlowDependency => f.P95Ms > 5 * h.P95Ms && f.SlowLogs > 0,
            FaultKind.ConfigChange => f.ErrorShare > 0.05
                && f.PoolLogs > 0
                && f.MedianMs > h.MedianMs + 20
                && f.Restarts == 0, // hot-reloaded: no restart
            // The pod's own spans need not move; its callers wait for every packet.
            FaultKind.NetworkDelay => f.CallerMedianMs > h.CallerMedianMs + 40 && f.ErrorShare < 0.05,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

    /// <summary>The root logs next to nothing (only its background errors); its callers log the failure, in the failing
    /// request's trace.</summary>
    private static bool SymptomInCaller(FaultKind kind, Window f, Window h) =>
        f.CallerTraceLinkedErrors > 5
        && f.OwnErrorLogs * 20 < f.CallerTraceLinkedErrors
        && kind switch
        {
            FaultKind.Errors => f.ErrorShare > 0.1 && f.CallerErrorShare > h.CallerErrorShare + 0.05,
            // its answers succeed, wrongly
            FaultKind.BadDeploy => f.ErrorShare < 0.05 && f.Restarts >= 1 && f.CallerNullResults > 5,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

    private sealed record Window(
        int ServerSpans,
        double ErrorShare,
        double MedianMs,
        double P95Ms,
        double CallerErrorShare,
        int SilentSeconds,
        double CpuCores,
        double MaxMemoryBytes,
        double Restarts,
        int FatalLogs,
        int NewTemplateErrors,
        int SlowLogs,
        double CallerMedianMs,
        int OwnErrorLogs,
        int CallerTraceLinkedErrors,
        int CallerNullResults,
        int PoolLogs
    );

    /// <summary>What the target service and its callers showed while the fault was on (or would have been).</summary>
    private static Window Measure(Topology topology, string service, IReadOnlyList<Fault> faults)
    {
        var sim = new ChaosSimulator(topology, new SimulationOptions { Seed = 3, BenignEventsPerHour = 0 }, faults);
        var records = sim.RunUntil(T0 + End).SelectMany(b => b).ToList();
        bool During(TelemetryRecord r) => r.TimestampMs >= T0 + Onset && r.TimestampMs < T0 + Onset + Duration;
        var server = records
            .OfType<SpanRecord>()
            .Where(s => s.Service == service && s.Kind == SpanKind.Server && During(s))
            .Select(s => s.DurationMs)
            .ToList();
        var serverErrors = records
            .OfType<SpanRecord>()
            .Count(s => s.Service == service && s.Kind == SpanKind.Server && During(s) && s.IsError);
        var calls = records.OfType<SpanRecord>().Where(s => s.PeerService == service && During(s)).ToList();
        var alive = records
            .Where(r => r.Service == service && During(r) && r is SpanRecord { Kind: SpanKind.Server } or MetricSample)
            .Select(r => (r.TimestampMs - T0) / 1000)
            .ToHashSet();
        var metrics = records.OfType<MetricSample>().Where(m => m.Service == service).ToList();
        var cpu = metrics.Where(m => m.Name == "container_cpu_usage_seconds_total" && During(m)).ToList();
        var logs = records.OfType<LogRecord>().Where(l => l.Service == service && During(l)).ToList();
        var callers = calls.Select(c => c.Service).ToHashSet();
        var callerErrors = records
            .OfType<LogRecord>()
            .Where(l => callers.Contains(l.Service) && During(l) && l.Severity >= LogSeverity.Error)
            .ToList();
        var callDurations = calls.Select(c => c.DurationMs).Order().ToList();
        server.Sort();
        return new Window(
            server.Count,
            server.Count == 0 ? 0 : serverErrors / (double)server.Count,
            server.Count == 0 ? 0 : server[server.Count / 2],
            server.Count == 0 ? 0 : server[(int)(server.Count * 0.95)],
            calls.Count == 0 ? 0 : calls.Count(c => c.IsError) / (double)calls.Count,
            (int)(Duration / 1000) - alive.Count,
            cpu.Count < 2 ? 0 : (cpu[^1].Value - cpu[0].Value) / ((cpu[^1].TimestampMs - cpu[0].TimestampMs) / 1000.0),
            metrics
                .Where(m => m.Name == "container_memory_working_set_bytes" && During(m))
                .Select(m => m.Value)
                .DefaultIfEmpty(0)
                .Max(),
            metrics
                .Where(m => m.Name == "kube_pod_container_status_restarts_total")
                .Select(m => m.Value)
                .DefaultIfEmpty(0)
                .Max(),
            logs.Count(l => l.Severity == LogSeverity.Fatal),
            logs.Count(l => l.Message.Contains("NullReferenceException")),
            logs.Count(l => l.Message.StartsWith("slow ")),
            callDurations.Count == 0 ? 0 : callDurations[callDurations.Count / 2],
            logs.Count(l => l.Severity >= LogSeverity.Error),
            callerErrors.Count(l => l.TraceId is not null && l.SpanId is not null),
            callerErrors.Count(l => l.Message.Contains($"{service} result is null")),
            logs.Count(l => l.Message.Contains("waiting for a connection from the pool"))
        );
    }
}
