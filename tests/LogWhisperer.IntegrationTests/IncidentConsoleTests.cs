using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using LogWhisperer.Cli.Configuration;
using LogWhisperer.Cli.Dashboard;
using LogWhisperer.Explain;
using LogWhisperer.Graph;
using LogWhisperer.Hosting;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

/// <summary> The incident console in headless Chromium at three moments of one simulated incident (onset, mid-incident,
/// after resolution), and verdict feedback closing the loop: feedback → labelled incidents → finetune → a changed
/// verdict.
/// </summary>
[Collection(DashboardFixture.Collection)]
public class IncidentConsoleTests(ITestOutputHelper output)
{
    private const string Token = "c0nsole";
    private const string Root = "productcatalogservice";
    private static readonly long T0 = new SimulationOptions().StartMs;

    private sealed record Recorded(
        List<(long WindowEnd, ScoredSnapshot Scored)> Graphs,
        List<RcaEvent> Events,
        string Store,
        Fault Fault
    );

    /// <param name="withChanges">A bad deploy whose rollout the engine is told of (the change input), instead of added
    /// latency.</param>
    private static async Task<Recorded> RecordIncident(bool withChanges = false)
    {
        var store = TestData.TempDir();
        // An odd onset second: the bad deploy fails in the root's own requests (even seconds surface it in the caller).
        var fault = withChanges
            ? new Fault(Root, FaultKind.BadDeploy, T0 + 6 * 60_000 + 1_000, T0 + 9 * 60_000, 0.7)
            : new Fault(Root, FaultKind.Latency, T0 + 6 * 60_000, T0 + 9 * 60_000, 0.7);
        var graphs = new List<(long, ScoredSnapshot)>();
        var sink = new CollectingRcaSink();
        using var alerts = new AlertSinks(new IncidentOptions(), new IncidentStore(store), store);
        await new SimulatedRun
        {
            Topology = TestData.OnlineBoutique(),
            Faults = [fault],
            Simulation = new SimulationOptions { Cluster = "online-boutique", Seed = 3 },
            EndMs = fault.EndMs + 3 * 60_000,
            Pipeline = new PipelineOptions { Changes = withChanges ? new LogWhisperer.Changes.ChangeLog() : null },
        }.RunAsync(
            new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU),
            alerts.After(sink),
            onScored: alerts.OnScored(s =>
            {
                lock (graphs)
                    graphs.Add((s.Snapshot.WindowEndMs, s));
            })
        );
        return new Recorded(graphs, sink.Events.ToList(), store, fault);
    }

    /// <summary>A console fed with what the engine had produced up to <paramref name="untilMs"/>, in the engine's order
    /// (a window is scored before its event is written).</summary>
    private static async Task<(DashboardServer Server, AlertSinks Alerts, DashboardFeed Feed)> ConsoleAt(
        Recorded r,
        long untilMs
    )
    {
        var feed = new DashboardFeed();
        var graphs = new Queue<(long WindowEnd, ScoredSnapshot Scored)>(
            r.Graphs.Where(g => g.WindowEnd <= untilMs).OrderBy(g => g.WindowEnd)
        );
        foreach (var e in r.Events.Where(e => e.WindowEnd.ToUnixTimeMilliseconds() <= untilMs))
        {
            while (graphs.Count > 0 && graphs.Peek().WindowEnd <= e.WindowEnd.ToUnixTimeMilliseconds())
                feed.OnScored(graphs.Dequeue().Scored);
            await feed.WriteAsync(e, default);
        }
        while (graphs.Count > 0)
            feed.OnScored(graphs.Dequeue().Scored);
        var alerts = new AlertSinks(new IncidentOptions(), new IncidentStore(r.Store), r.Store);
        foreach (var (end, scored) in r.Graphs.Where(g => g.WindowEnd <= untilMs))
            alerts.Feedback!.Retain(scored.Snapshot); // as the engine's hook does
        var console = new IncidentConsole(
            alerts.Store,
            f => alerts.GiveFeedback(f, DateTimeOffset.UtcNow),
            alerts.Feedback
        );
        var server = new DashboardServer(
            new DashboardOptions { BearerToken = Token },
            feed,
            new EngineMetrics(),
            console
        );
        await server.StartAsync();
        return (server, alerts, feed);
    }

    private (string Dom, string Png) Render(string url, string name)
    {
        var dir = TestData.TempDir();
        string[] common =
        [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            $"--user-data-dir={dir}/profile",
            "--virtual-time-budget=10000",
        ];
        var (exit, dom, err) = TestData.RunProcess(
            "chromium",
            [.. common, "--dump-dom", url],
            TimeSpan.FromSeconds(90)
        );
        Assert.True(exit == 0, err);
        var png = Path.Combine(dir, name + ".png");
        (exit, _, err) = TestData.RunProcess(
            "chromium",
            [.. common, "--window-size=1280,1400", $"--screenshot={png}", url],
            TimeSpan.FromSeconds(90)
        );
        Assert.True(exit == 0, err);
        Assert.True(new FileInfo(png).Length > 20_000, $"{png} is suspiciously small");
        output.WriteLine($"{name}: {png}");
        // The README's and docs/incidents.md's screenshots are these: LW_UPDATE_DOCS=1 replaces them (look at them
        // first).
        if (Environment.GetEnvironmentVariable("LW_UPDATE_DOCS") == "1")
            File.Copy(png, Path.Combine(TestData.RepoRoot, "docs", "images", name + ".png"), overwrite: true);
        return (dom, png);
    }

    [Fact]
    public async Task ConsoleShowsOnsetMidIncidentAndResolutionInHeadlessChromium()
    {
        if (!File.Exists("/usr/bin/chromium"))
        {
            output.WriteLine("skipped: /usr/bin/chromium is not installed (Debian package chromium)");
            return;
        }
        var r = await RecordIncident(withChanges: true);
        var incident = r.Events.Where(e => e.Incident!.RootCause == Root).GroupBy(e => e.Incident!.Id).Single();
        var windows = incident.Where(e => e.Incident!.State != IncidentInfo.Resolved).ToList();
        var resolution = incident.Single(e => e.Incident!.State == IncidentInfo.Resolved);
        var rollout = windows.Select(e => e.Change).FirstOrDefault(c => c is not null);
        Assert.True(
            rollout is { Kind: "rollout", Service: Root },
            $"the bad deploy's rollout is tied to the verdict: {rollout}"
        );
        long onset = windows[0].WindowEnd.ToUnixTimeMilliseconds(),
            mid = windows[windows.Count / 2].WindowEnd.ToUnixTimeMilliseconds();

        foreach (
            var (moment, until) in new[]
            {
                ("onset", onset),
                ("mid", mid),
                ("resolved", resolution.WindowEnd.ToUnixTimeMilliseconds()),
            }
        )
        {
            var (server, alerts, _) = await ConsoleAt(r, until);
            await using (server)
            using (alerts)
            {
                var (dom, _) = Render($"{server.Urls.First().TrimEnd('/')}/?token={Token}&once=1", "console-" + moment);
                var li = Regex.Match(
                    dom,
                    @"<li class=""incident (open|resolved)"" data-incident=""([^""]+)"" data-state=""(\w+)"""
                );
                Assert.True(li.Success, dom[..Math.Min(2000, dom.Length)]);
                Assert.Equal(incident.Key, li.Groups[2].Value);
                Assert.Contains($"data-incident=\"{incident.Key}\"", dom); // the detail panel shows it
                Assert.Matches(@"\d{2}:\d{2}:\d{2} (UTC|GMT)", dom); // real dates with their time zone
                // plain words beside σ
                Assert.Contains("times its usual spread", dom.Replace("× its usual spread", "times its usual spread"));
                Assert.Contains("<select id=\"cluster-filter\">", dom);
                if (moment == "resolved")
                {
                    Assert.Equal("resolved", li.Groups[3].Value);
                    Assert.Contains("class=\"meta resolved-note\"", dom);
                    Assert.DoesNotMatch(@"class=""node candidate rank-1""", dom); // nothing stays red after the fault
                    Assert.Matches($@"class=""node[^""]*resolved-root"" data-service=""{Root}""", dom);
                }
                else
                {
                    Assert.NotEqual("resolved", li.Groups[3].Value);
                    Assert.Matches($@"<g class=""node candidate rank-1[^""]*"" data-service=""{Root}""", dom);
                    Assert.Matches(@"class=""node[^""]* impacted", dom); // the degraded callers are shown
                    Assert.Contains("class=\"evidence\"", dom); // sparklines against the baseline band
                    // ... before and during: every measurement starts with the windows before the incident.
                    var rows = Regex.Matches(
                        dom,
                        @"class=""evidence"" data-feature=""[^""]+"" data-before=""(\d+)"" data-during=""(\d+)"""
                    );
                    Assert.NotEmpty(rows);
                    Assert.All(rows, m => Assert.Equal(DashboardFeed.BeforeWindows, int.Parse(m.Groups[1].Value)));
                    Assert.All(rows, m => Assert.InRange(int.Parse(m.Groups[2].Value), 1, windows.Count));
                    Assert.Contains("; before: ", dom);
                    // The rollout is marked on the timeline, before the first window of the incident.
                    var timeline = Regex
                        .Match(dom, @"<ol class=""timeline"">(.*?)</ol>", RegexOptions.Singleline)
                        .Groups[1]
                        .Value;
                    var marker = Regex.Match(
                        timeline,
                        $@"<li class=""change"" data-change-kind=""rollout"" data-service=""{Root}"">"
                    );
                    Assert.True(marker.Success, timeline);
                    Assert.True(
                        marker.Index < timeline.IndexOf("<li data-state=\"opened\"", StringComparison.Ordinal),
                        timeline
                    );
                    Assert.Contains("s before the incident began (source: simulator)", timeline);
                    Assert.Equal(
                        Regex.Matches(dom, @"<li data-state=""(opened|updated)""").Count,
                        r.Events.Count(e =>
                            e.Incident!.Id == incident.Key && e.WindowEnd.ToUnixTimeMilliseconds() <= until
                        )
                    );
                }
            }
        }
    }

    [Fact]
    public async Task ConsoleFiltersByClusterAndShowsUrgencySimilarIncidentsAndTheConfirmedShare()
    {
        if (!File.Exists("/usr/bin/chromium"))
        {
            output.WriteLine("skipped: /usr/bin/chromium is not installed (Debian package chromium)");
            return;
        }
        var store = TestData.TempDir();
        using var alerts = new AlertSinks(new IncidentOptions(), new IncidentStore(store), store);
        // A past incident in "eu", confirmed by someone: the share of confirmed verdicts, and what the new one
        // resembles.
        var past = new StoredIncident(
            "inc-eu-past",
            "eu",
            "paymentservice",
            "Errors",
            DateTimeOffset.FromUnixTimeMilliseconds(T0 - 86_400_000),
            DateTimeOffset.FromUnixTimeMilliseconds(T0 - 86_000_000),
            new Dictionary<string, double> { ["error_ratio_z"] = 1 },
            [T0 - 86_400_000]
        );
        alerts.Store.Put(past);
        Assert.NotNull(
            alerts.GiveFeedback(new VerdictFeedback(past.Id, VerdictFeedback.Confirm), DateTimeOffset.UtcNow)
        );
        RcaEvent Open(string cluster, string root, int window, Urgency urgency, params SimilarIncident[] similar) =>
            SampleRcaEvents.Incident(cluster, root, window) with
            {
                Incident = new IncidentInfo(
                    $"inc-{cluster}-{window}",
                    IncidentInfo.Opened,
                    DateTimeOffset.FromUnixTimeMilliseconds(T0 + window * 30_000L),
                    root,
                    1
                ),
                Urgency = urgency,
                SimilarIncidents = similar.Length > 0 ? similar : null,
            };
        var feed = new DashboardFeed();
        await feed.WriteAsync(
            Open(
                "eu",
                "paymentservice",
                10,
                new Urgency(Urgency.Page, 14.4, "frontend availability 99.9 %"),
                new SimilarIncident(past.Id, "eu", "paymentservice", "Errors", past.OpenedAt, 0.91, "confirmed")
            ),
            default
        );
        // the newest, in another cluster
        await feed.WriteAsync(Open("us", "cartservice", 12, new Urgency(Urgency.Warning, 0)), default);
        var console = new IncidentConsole(
            alerts.Store,
            f => alerts.GiveFeedback(f, DateTimeOffset.UtcNow),
            alerts.Feedback
        );
        await using var server = new DashboardServer(
            new DashboardOptions { BearerToken = Token },
            feed,
            new EngineMetrics(),
            console
        );
        await server.StartAsync();
        string url = $"{server.Urls.First().TrimEnd('/')}/?token={Token}&once=1";

        static string[] Listed(string dom) =>
            Regex
                .Matches(dom, @"<li class=""incident \w+"" data-incident=""([^""]+)""")
                .Select(m => m.Groups[1].Value)
                .ToArray();
        var (all, _) = Render(url, "console-all-clusters");
        Assert.Equal(["inc-us-12", "inc-eu-10", past.Id], Listed(all)); // newest first, the store's past incident too
        // the newest in detail
        Assert.Contains("data-incident=\"inc-us-12\"", Regex.Match(all, @"<div id=""incident-detail""[^>]*>").Value);
        Assert.Contains(">warning</span>", all); // burns no SLO: a warning, not a page

        var (eu, _) = Render(url + "&cluster=eu", "console-eu");
        Assert.Equal(["inc-eu-10", past.Id], Listed(eu)); // filtered to eu
        Assert.Contains("<option value=\"eu\" selected=\"\">eu</option>", eu);
        // the detail follows the filter
        Assert.Contains("data-incident=\"inc-eu-10\"", Regex.Match(eu, @"<div id=""incident-detail""[^>]*>").Value);
        Assert.Contains(">page</span>", eu);
        Assert.Contains("urgency: page, SLO burn rate 14.4", eu);
        Assert.Contains("paymentservice (Errors) opened", eu); // similar past incidents, with their verdict
        Assert.Contains("91% alike, verdict confirmed", eu);
        Assert.Contains("Confirmed verdicts: 1 of 1 (100%)", eu);
    }

    [Fact]
    public async Task FeedbackIsStoredAsLabelledIncidentsAndFinetuningOnItChangesTheVerdict()
    {
        var r = await RecordIncident();
        var incident = r.Events.Where(e => e.Incident!.RootCause == Root).GroupBy(e => e.Incident!.Id).Single();
        var windows = incident.Where(e => e.Incident!.State != IncidentInfo.Resolved).ToList();

        // Feedback: token-protected, validated, stored as a labelled incident with its windows' snapshots.
        var (console, store, _) = await ConsoleAt(r, long.MaxValue);
        await using (console)
        using (store)
        {
            var url = $"{console.Urls.First().TrimEnd('/')}/api/incidents/{incident.Key}/feedback";
            using var anonymous = new HttpClient();
            Assert.Equal(
                HttpStatusCode.Unauthorized,
                (await anonymous.PostAsync(url, Json("""{"verdict":"confirm"}"""))).StatusCode
            );
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            Assert.Equal(
                HttpStatusCode.BadRequest,
                (await http.PostAsync(url, Json("""{"verdict":"maybe"}"""))).StatusCode
            );
            Assert.Equal(
                HttpStatusCode.BadRequest,
                (await http.PostAsync(url, Json("""{"verdict":"rootCause"}"""))).StatusCode
            );
            Assert.Equal(
                HttpStatusCode.NotFound,
                (
                    await http.PostAsync(url.Replace(incident.Key, "inc-nope-1"), Json("""{"verdict":"confirm"}"""))
                ).StatusCode
            );
            var ok = await http.PostAsync(
                url,
                Json("""{"verdict":"rootCause","service":"frontend","note":"it was the frontend's bad deploy"}""")
            );
            Assert.True(ok.IsSuccessStatusCode, await ok.Content.ReadAsStringAsync());
            Assert.Contains("\"feedback\":\"corrected\"", await ok.Content.ReadAsStringAsync());
            Assert.Contains(
                "\"service\":\"frontend\"",
                await http.GetStringAsync(console.Urls.First().TrimEnd('/') + "/api/feedback")
            );
        }
        var labelled = SnapshotStore.ReadAll(Path.Combine(r.Store, FeedbackStore.SnapshotFolder)).ToList();
        Assert.Equal(windows.Count, labelled.Count);
        Assert.All(labelled, s => Assert.Equal("frontend", s.Label!.RootService));
        Assert.Equal("corrected", new IncidentStore(r.Store).Find(incident.Key)!.Feedback); // kept across a restart

        // The loop closes: finetune reads the feedback store as it is, and the tuned model now names the frontend.
        var tuned = Path.Combine(r.Store, "tuned.lwm");
        var (exit, _, err) = CliTests.Run(
            "finetune",
            "--model",
            TestData.ShippedModel,
            "--feedback",
            r.Store,
            "--epochs",
            "30",
            "--out",
            tuned
        );
        Assert.True(exit == 0, err);
        output.WriteLine(err);
        var before = new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU).Score(labelled);
        var after = new GatScorer(GatModel.Load(tuned, CPU), CPU).Score(labelled);
        string Top(ScoredSnapshot s) => s.Snapshot.Service(s.TopNode);
        output.WriteLine(
            $"rank 1 before: {string.Join(", ", before.Select(Top))}; after: {string.Join(", ", after.Select(Top))}"
        );
        Assert.All(before, s => Assert.Equal(Root, Top(s)));
        Assert.True(after.Count(s => Top(s) == "frontend") > after.Length / 2, string.Join(", ", after.Select(Top)));
    }

    /// <summary>
    /// Keyboard alone, with real key presses (DevTools protocol): Tab reaches the incident, Enter opens it and moves
    /// the focus to its details, Tab reaches the verdict buttons, a window that arrives meanwhile re-renders the
    /// console without taking the focus away, and Space sends the verdict.
    /// </summary>
    [Fact]
    public async Task TheConsoleWorksFromTheKeyboardAloneAndKeepsTheFocusWhenEventsArrive()
    {
        if (!File.Exists("/usr/bin/chromium"))
        {
            output.WriteLine("skipped: /usr/bin/chromium is not installed (Debian package chromium)");
            return;
        }
        var r = await RecordIncident();
        var incident = r.Events.Where(e => e.Incident!.RootCause == Root).GroupBy(e => e.Incident!.Id).Single();
        var windows = incident.Where(e => e.Incident!.State != IncidentInfo.Resolved).ToList();
        Assert.True(windows.Count >= 3, $"{windows.Count} windows");
        long mid = windows[1].WindowEnd.ToUnixTimeMilliseconds();
        var (server, alerts, feed) = await ConsoleAt(r, mid);
        await using (server)
        using (alerts)
        {
            await using var page = await ChromiumDevTools.OpenAsync(
                $"{server.Urls.First().TrimEnd('/')}/?token={Token}"
            );
            string item = $"#incident-list li.incident[data-incident='{incident.Key}'] button";
            await page.WaitForAsync($"document.querySelector(\"{item}\") !== null");

            Assert.True(
                await page.TabUntilAsync($"e.closest('li.incident')?.dataset.incident === '{incident.Key}'"),
                "no Tab stop on the incident"
            );
            await page.PressAsync("Enter");
            await page.WaitForAsync("document.activeElement.id === 'incident-detail'");
            Assert.Equal(
                incident.Key,
                (string?)await page.EvaluateAsync("document.getElementById('incident-detail').dataset.incident")
            );
            Assert.Equal(
                "true",
                (string?)await page.EvaluateAsync($"document.querySelector(\"{item}\").getAttribute('aria-pressed')")
            );

            Assert.True(
                await page.TabUntilAsync("e.classList.contains('confirm')"),
                "no Tab stop on the verdict's Confirm button"
            );
            const string shownWindows =
                "document.querySelectorAll('#incident-detail ol.timeline li[data-state]').length";
            int before = (int?)await page.EvaluateAsync(shownWindows) ?? -1;
            // the next window arrives: the list and the details are drawn again
            await feed.WriteAsync(windows[2], default);
            await page.WaitForAsync($"{shownWindows} > {before}");
            Assert.True(
                (bool?)await page.EvaluateAsync("document.activeElement.classList.contains('confirm')"),
                "re-rendering took the focus away from Confirm"
            );

            await page.PressAsync(" ");
            await page.WaitForAsync(
                "(document.querySelector('#incident-detail .feedback-status')?.textContent ?? '').startsWith('Thanks')"
            );
        }
        Assert.Equal("confirmed", new IncidentStore(r.Store).Find(incident.Key)!.Feedback);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
