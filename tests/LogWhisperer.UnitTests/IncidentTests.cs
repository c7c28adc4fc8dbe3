using LogWhisperer.Explain;
using LogWhisperer.Hosting;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

/// <summary>Issue #14: incidents (one per root cause, resolved after the fault), inconclusive verdicts, similar
/// incidents, SLO urgency.</summary>
public class IncidentTests(ITestOutputHelper output)
{
    private static readonly Lazy<GatScorer> Shipped = new(() =>
        new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU)
    );
    private static readonly long T0 = new SimulationOptions().StartMs;
    private const long Window = 30_000;

    internal sealed record Run(IReadOnlyList<RcaEvent> Events, int MostSymptomatic, IncidentStage Stage);

    internal static async Task<Run> Simulate(
        string topology,
        IReadOnlyList<Fault> faults,
        long endMs,
        IncidentStore? store = null,
        ExplainerOptions? explainer = null,
        Action<ScoredSnapshot>? onScored = null
    )
    {
        var sink = new CollectingRcaSink();
        var stage = new IncidentStage(sink, store: store);
        int most = 0;
        await new SimulatedRun
        {
            Topology = Topology.Load(TestData.TopologyPath(topology)),
            Faults = faults,
            EndMs = endMs,
            Simulation = new SimulationOptions { Seed = 21, Cluster = topology },
            Pipeline = new Pipeline.PipelineOptions { Explainer = explainer ?? new ExplainerOptions() },
        }.RunAsync(
            Shipped.Value,
            stage,
            onScored: s =>
            {
                onScored?.Invoke(s);
                var snap = s.Snapshot;
                bool during = faults.Any(f => snap.WindowStartMs >= f.StartMs && snap.WindowEndMs <= f.EndMs);
                int symptomatic = Enumerable
                    .Range(0, snap.NodeCount)
                    .Count(i => Explainer.LoudestSymptom(snap, i).Strength >= 3);
                if (during)
                    most = Math.Max(most, symptomatic);
            }
        );
        return new Run(sink.Events, most, stage);
    }

    /// <summary>Incidents whose windows overlap [start, end).</summary>
    private static List<IGrouping<string, RcaEvent>> IncidentsDuring(
        IEnumerable<RcaEvent> events,
        long start,
        long end
    ) =>
        events
            .GroupBy(e => e.Incident!.Id)
            .Where(g =>
                g.Any(e =>
                    e.Incident!.State != IncidentInfo.Resolved
                    && e.WindowEnd.ToUnixTimeMilliseconds() > start
                    && e.WindowStart.ToUnixTimeMilliseconds() < end
                )
            )
            .ToList();

    [Theory]
    // rank 1 wavers between the store and its caller ts-travel-service
    [InlineData("train-ticket", "ts-seat-service", FaultKind.Latency)]
    [InlineData("train-ticket", "ts-station-service", FaultKind.Errors)] // ~30 services show symptoms
    [InlineData("online-boutique", "productcatalogservice", FaultKind.Latency)]
    public async Task OneIncidentPerFaultResolvedWithinTwoQuietWindows(string topology, string service, FaultKind kind)
    {
        var fault = new Fault(service, kind, T0 + 6 * 60_000, T0 + 9 * 60_000, 0.7);
        var run = await Simulate(topology, [fault], fault.EndMs + 3 * 60_000);
        var incidents = IncidentsDuring(run.Events, fault.StartMs, fault.EndMs);
        foreach (var e in run.Events)
            output.WriteLine(
                $"{(e.WindowStart.ToUnixTimeMilliseconds() - T0) / 1000, 5}s {e.Incident!.Id} "
                    + $"{e.Incident.State, -8} rank1 {e.Candidates[0].Service} ({e.Candidates[0].Score:0.00}) "
                    + $"root {e.Incident.RootCause} impacted {e.ImpactedServices?.Count ?? 0} {e.Verdict!.Conclusion}"
            );
        output.WriteLine($"most symptomatic services in one fault window: {run.MostSymptomatic}");
        foreach (var e in run.Events.Where(e => e.Candidates[0].Service != service))
            output.WriteLine(
                $"not the fault, {(e.WindowStart.ToUnixTimeMilliseconds() - T0) / 1000}s: {e.Explanation}"
            );

        if (topology == "train-ticket")
            Assert.True(run.MostSymptomatic >= 10, $"{run.MostSymptomatic} symptomatic services");
        var incident = Assert.Single(incidents);
        Assert.Equal(service, incident.Last().Incident!.RootCause);
        Assert.Contains(incident, e => e.ImpactedServices is { Count: > 0 });
        // Resolved by quiet windows (an event of its own), or ended by an unrelated root cause taking over (the
        // new incident's `supersedes` names it; alert sinks resolve it then): either way within two windows.
        var resolution =
            incident.SingleOrDefault(e => e.Incident!.State == IncidentInfo.Resolved)
            ?? run.Events.First(e => e.Incident!.Supersedes == incident.Key);
        Assert.True(
            resolution.WindowEnd.ToUnixTimeMilliseconds() <= fault.EndMs + 2 * Window,
            $"resolved at {resolution.WindowEnd:HH:mm:ss}, "
                + $"fault ended {DateTimeOffset.FromUnixTimeMilliseconds(fault.EndMs):HH:mm:ss}"
        );
        Assert.Equal(IncidentInfo.Opened, incident.First().Incident!.State);
        var updates = resolution.Incident!.Id == incident.Key ? incident.Skip(1).SkipLast(1) : incident.Skip(1);
        Assert.All(updates, e => Assert.Equal(IncidentInfo.Updated, e.Incident!.State));
        Assert.Equal(
            Enumerable.Range(1, updates.Count() + 1),
            incident.Take(updates.Count() + 1).Select(e => e.Incident!.Windows)
        );
        if (resolution.Incident.Id == incident.Key)
            Assert.NotNull(resolution.Incident.ResolvedAt);
        Assert.All(run.Events, e => Assert.Empty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.Event, e.ToJson())));
    }

    [Fact]
    public async Task TwoFaultsOnUnrelatedServicesAtOnceAreInconclusiveNamingBoth()
    {
        // paymentservice (called by checkout) and adservice (called by the frontend) share no call path.
        Fault[] faults =
        [
            new("paymentservice", FaultKind.Errors, T0 + 6 * 60_000, T0 + 9 * 60_000, 0.7),
            new("adservice", FaultKind.CpuHog, T0 + 6 * 60_000, T0 + 9 * 60_000, 0.7),
        ];
        var run = await Simulate("online-boutique", faults, T0 + 12 * 60_000);
        foreach (var e in run.Events)
            output.WriteLine(
                $"{(e.WindowStart.ToUnixTimeMilliseconds() - T0) / 1000, 5}s {e.Incident!.State, -8} {e.Verdict!.Conclusion} {string.Join(", ", e.Verdict.Hypotheses?.Select(h => $"{h.Service} {h.Score:0.00}") ?? [])}"
            );
        var incident = Assert.Single(IncidentsDuring(run.Events, faults[0].StartMs, faults[0].EndMs));
        var inconclusive = incident.Where(e => e.Verdict!.IsInconclusive).ToList();
        Assert.True(
            inconclusive.Count >= incident.Count() / 2,
            $"{inconclusive.Count} of {incident.Count()} windows inconclusive"
        );
        Assert.All(
            inconclusive,
            e =>
            {
                // Both faults are named, as the two leading hypotheses (a third, weaker one may follow).
                Assert.Equal(
                    ["adservice", "paymentservice"],
                    e.Verdict!.Hypotheses!.OrderByDescending(h => h.Score).Take(2).Select(h => h.Service).Order()
                );
                Assert.Contains("share no call path", e.Verdict.SeparatingEvidence![0]);
                Assert.Contains("Inconclusive: ", e.Explanation);
            }
        );
    }

    [Fact]
    public async Task ARecurringFaultFindsItsEarlierIncidentAndTheStoreSurvivesARestart()
    {
        var dir = TestData.TempDir();
        Fault[] faults =
        [
            new("paymentservice", FaultKind.Errors, T0 + 6 * 60_000, T0 + 8 * 60_000, 0.7),
            new("paymentservice", FaultKind.Errors, T0 + 12 * 60_000, T0 + 14 * 60_000, 0.7),
        ];
        var run = await Simulate("online-boutique", faults, T0 + 17 * 60_000, new IncidentStore(dir));
        var first = IncidentsDuring(run.Events, faults[0].StartMs, faults[0].EndMs).Single().Key;
        var second = IncidentsDuring(run.Events, faults[1].StartMs, faults[1].EndMs).Single();
        Assert.Null(run.Events.First(e => e.Incident!.Id == first).SimilarIncidents);
        var similar = second.First().SimilarIncidents!.First();
        output.WriteLine($"{second.Key}: similar {similar.Id} at {similar.Similarity}");
        Assert.Equal(first, similar.Id);
        // same root and kind (0.5) plus evidence cosine ≈ 0.44 here
        Assert.True(similar.Similarity >= 0.7, $"{similar.Similarity}");

        var reopened = new IncidentStore(dir); // a restart
        // every finished incident, resolved or superseded
        Assert.Equal(run.Stage.Store.All.Select(i => i.Id), reopened.All.Select(i => i.Id));
        Assert.Contains(first, reopened.All.Select(i => i.Id));
        Assert.Equal("paymentservice", reopened.Find(first)!.RootCause);
        var probe = reopened.Find(second.Key)!;
        Assert.Equal(
            first,
            reopened
                .Similar(
                    probe.Id,
                    probe.Cluster,
                    probe.RootCause,
                    probe.FaultKind,
                    probe.Evidence,
                    probe.OpenedAt,
                    3,
                    0.5
                )
                .Single()
                .Id
        );
    }

    [Fact]
    public void TheStoreIsBoundedAndCompactsItsFile()
    {
        var dir = TestData.TempDir();
        var store = new IncidentStore(dir, capacity: 2);
        for (int i = 0; i < 7; i++)
            store.Put(
                new StoredIncident(
                    $"inc-{i}",
                    "c",
                    "svc",
                    "Errors",
                    DateTimeOffset.FromUnixTimeMilliseconds(T0 + i * Window),
                    null,
                    new Dictionary<string, double> { ["x"] = 1 },
                    [T0 + i * Window]
                )
            );
        Assert.Equal(["inc-6", "inc-5"], store.All.Select(s => s.Id));
        Assert.True(File.ReadAllLines(Path.Combine(dir, IncidentStore.FileName)).Length <= 4);
        Assert.Equal(["inc-6", "inc-5"], new IncidentStore(dir, capacity: 2).All.Select(s => s.Id));
    }

    [Fact]
    public async Task SloBurnMakesAPageAndAnIncidentBurningNoSloIsAWarning()
    {
        var fault = new Fault("paymentservice", FaultKind.Errors, T0 + 6 * 60_000, T0 + 8 * 60_000, 0.7);
        var burning = await Simulate(
            "online-boutique",
            [fault],
            T0 + 10 * 60_000,
            explainer: new ExplainerOptions { Slos = [new ServiceLevelObjective("frontend", Availability: 99.9)] }
        );
        var paged = burning
            .Events.Where(e =>
                e.WindowStart.ToUnixTimeMilliseconds() >= fault.StartMs
                && e.WindowEnd.ToUnixTimeMilliseconds() <= fault.EndMs
            )
            .ToList();
        Assert.NotEmpty(paged);
        Assert.All(paged, e => Assert.Equal(Urgency.Page, e.Urgency!.Severity));
        Assert.All(
            paged,
            e =>
                Assert.True(
                    e.Urgency!.BurnRate > 1 && e.Urgency.Slo == "frontend availability 99.9 %",
                    $"{e.Urgency.BurnRate}"
                )
        );
        Assert.Equal(
            ("critical", "P1"),
            (AlertSeverity.Of(paged[0]).Label, AlertSeverity.Of(paged[0]).OpsgeniePriority)
        );

        // The same incident against an objective it does not burn (frontend under 10 s for 99 % of requests).
        var calm = await Simulate(
            "online-boutique",
            [fault],
            T0 + 10 * 60_000,
            explainer: new ExplainerOptions { Slos = [new ServiceLevelObjective("frontend", LatencyMs: 10_000)] }
        );
        var warned = calm.Events.First(e => e.WindowStart.ToUnixTimeMilliseconds() >= fault.StartMs);
        Assert.Equal(new Urgency(Urgency.Warning, 0), warned.Urgency);
        Assert.Equal(("warning", "P4"), (AlertSeverity.Of(warned).Label, AlertSeverity.Of(warned).OpsgeniePriority));
    }

    /// <summary>The figures in docs/incidents.md: a plan of incidents over all fault kinds on a seen and an unseen
    /// mesh.</summary>
    [Theory]
    [InlineData("online-boutique", 20, 5)]
    [InlineData("train-ticket", 20, 6)]
    public async Task IncidentsPerFaultOverAPlan(string topology, int count, int seed)
    {
        var topo = Topology.Load(TestData.TopologyPath(topology));
        var faults = IncidentPlan.Create(topo, count, seed, T0);
        var run = await Simulate(topology, faults, IncidentPlan.EndOf(faults, T0));
        int exactlyOne = 0,
            resolvedInTwo = 0,
            rootRight = 0,
            opened = 0;
        var delays = new List<double>();
        foreach (var f in faults)
        {
            var during = IncidentsDuring(run.Events, f.StartMs, f.EndMs);
            if (during.Count == 1)
                exactlyOne++;
            if (during.Count > 0)
                opened++;
            if (during.Count == 1 && during[0].Last().Incident!.RootCause == f.Service)
                rootRight++;
            // An incident ends with its resolution event, or where an unrelated root cause superseded it.
            var last = during.LastOrDefault();
            long? endedMs =
                last?.LastOrDefault(e => e.Incident!.State == IncidentInfo.Resolved)?.WindowEnd.ToUnixTimeMilliseconds()
                ?? run.Events.FirstOrDefault(e => last is not null && e.Incident!.Supersedes == last.Key)
                    ?.WindowStart.ToUnixTimeMilliseconds();
            if (endedMs is { } ended)
            {
                // Windows after the one the fault ended in (faults end mid-window here) until the incident ended.
                long lastFaultWindowEnd = (f.EndMs + Window - 1) / Window * Window;
                double windows = (ended - lastFaultWindowEnd) / (double)Window;
                delays.Add(windows);
                if (windows <= 2)
                    resolvedInTwo++;
            }
            output.WriteLine(
                $"{f.Kind, -15} {f.Service, -28} incidents {during.Count} root {string.Join("/", during.Select(g => g.Last().Incident!.RootCause))} resolved +{(delays.Count > 0 ? delays[^1] : double.NaN):0.#} windows after the fault's last"
            );
        }
        int falseAlarms = run
            .Events.GroupBy(e => e.Incident!.Id)
            .Count(g =>
                !faults.Any(f =>
                    g.Any(e =>
                        e.WindowEnd.ToUnixTimeMilliseconds() > f.StartMs
                        && e.WindowStart.ToUnixTimeMilliseconds() < f.EndMs
                    )
                )
            );
        output.WriteLine(
            $"{topology}: {count} faults, exactly one incident for {exactlyOne}, its root right for {rootRight}, resolved within two windows after the fault's last window for {resolvedInTwo} (windows after it: {string.Join(" ", delays.GroupBy(d => d).OrderBy(g => g.Key).Select(g => $"{g.Key:0}×{g.Count()}"))}), {falseAlarms} incident(s) outside any fault, {run.Events.Count} events"
        );
        Assert.True(exactlyOne >= count * 0.9, $"{exactlyOne} of {count} faults had exactly one incident");
        // every incident a fault opened ended (resolved, or superseded by an unrelated root cause)
        Assert.Equal(opened, delays.Count);
        // Set after seeing 18 of 20 on Train-Ticket (the other 2 a window later: symptoms that linger one window past
        // the fault).
        Assert.True(
            resolvedInTwo >= count * 0.7,
            $"{resolvedInTwo} of {count} resolved within two windows after the fault's last window"
        );
    }

    [Fact]
    public async Task TrackerGroupsAlongTheCallGraphSupersedesOnAnUnrelatedRootAndKeepsFeedbackGivenWhileOpen()
    {
        var sink = new CollectingRcaSink();
        var stage = new IncidentStage(sink);
        RcaEvent At(int w, string root, params string[] impacted) =>
            SampleRcaEvents.Incident("shop", root, w) with
            {
                ImpactedServices = impacted.Select(s => new ImpactedService(s, "median latency +9σ", 9, 1)).ToList(),
            };
        await stage.WriteAsync(At(1, "redis-cart", "cartservice", "frontend"), default);
        await stage.WriteAsync(
            At(2, "cartservice", "frontend") with
            {
                Candidates = [new(1, "cartservice", 0.6), new(2, "redis-cart", 0.35)],
            },
            default
        ); // its caller first for a window: same incident
        // one lull does not resolve it
        await stage.QuietAsync("shop", DateTimeOffset.FromUnixTimeMilliseconds(T0 + 4 * Window), default);
        await stage.WriteAsync(At(4, "redis-cart", "cartservice"), default);
        var open = stage.Tracker.Open.Single();
        // someone confirms it while it is open
        stage.Store.Put(StoredIncident.From(open) with { Feedback = "confirmed" });
        // unrelated: the first resolves, a new one opens
        await stage.WriteAsync(At(5, "paymentservice", "checkoutservice"), default);
        await stage.QuietAsync("shop", DateTimeOffset.FromUnixTimeMilliseconds(T0 + 7 * Window), default);
        await stage.QuietAsync("shop", DateTimeOffset.FromUnixTimeMilliseconds(T0 + 8 * Window), default);

        var events = sink.Events;
        Assert.Equal(["opened", "updated", "updated", "opened", "resolved"], events.Select(e => e.Incident!.State));
        Assert.Equal(open.Id, events[2].Incident!.Id);
        Assert.Equal("redis-cart", events[1].Incident!.RootCause); // the incident keeps its root while rank 1 wavers
        Assert.Equal(open.Id, events[3].Incident!.Supersedes);
        Assert.Equal("paymentservice", events[4].Incident!.RootCause);
        Assert.Equal($"rca-shop-{T0 + 7 * Window}", events[4].Id); // the second quiet window's own id
        Assert.Equal("confirmed", stage.Store.Find(open.Id)!.Feedback);
        Assert.Equal(3, stage.Store.Find(open.Id)!.WindowStarts.Count);
        Assert.Empty(stage.Tracker.Open);
    }

    [Fact]
    public async Task ALullMidIncidentReopensTheSameIncidentAndALaterOneOpensANewOne()
    {
        var sink = new CollectingRcaSink();
        var stage = new IncidentStage(sink);
        RcaEvent At(int w, string root) => SampleRcaEvents.Incident("shop", root, w);
        DateTimeOffset End(int w) => DateTimeOffset.FromUnixTimeMilliseconds(T0 + (w + 1) * Window);
        await stage.WriteAsync(At(1, "frontend"), default);
        await stage.QuietAsync("shop", End(2), default);
        await stage.QuietAsync("shop", End(3), default); // two quiet windows: resolved
        // its symptoms come back a window later: the same incident, reopened
        await stage.WriteAsync(At(4, "frontend"), default);
        await stage.WriteAsync(At(5, "frontend"), default);
        await stage.QuietAsync("shop", End(6), default);
        await stage.QuietAsync("shop", End(7), default); // resolved again
        await stage.WriteAsync(At(13, "frontend"), default); // well after (6 windows): a new incident
        await stage.QuietAsync("shop", End(14), default);
        await stage.QuietAsync("shop", End(15), default);
        await stage.WriteAsync(At(16, "paymentservice"), default); // soon after, but unrelated: a new incident too

        var events = sink.Events;
        Assert.Equal(
            ["opened", "resolved", "reopened", "updated", "resolved", "opened", "resolved", "opened"],
            events.Select(e => e.Incident!.State)
        );
        Assert.Equal(events[0].Incident!.Id, events[2].Incident!.Id);
        Assert.Equal(3, events[3].Incident!.Windows);
        Assert.NotEqual(events[0].Incident!.Id, events[5].Incident!.Id);
        Assert.NotEqual(events[5].Incident!.Id, events[7].Incident!.Id);
        // the store holds the incident once, with all its windows
        Assert.Equal(3, stage.Store.Find(events[0].Incident!.Id)!.WindowStarts.Count);

        // Alert routers page again for the reopened incident, under the same id.
        var feed = new IncidentFeed();
        var notices = events.SelectMany(feed.OnEvent).ToList();
        Assert.Equal(
            ["opened", "resolved", "opened", "updated", "resolved", "opened", "resolved", "opened"],
            notices.Select(n => n.State)
        );
        Assert.Equal(events[0].Incident!.Id, notices[2].Id);
        Assert.StartsWith("reopened", notices[2].Reason);
    }
}
