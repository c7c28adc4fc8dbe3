using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using LogWhisperer.Cli.Dashboard;
using LogWhisperer.Explain;
using LogWhisperer.Hosting;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

/// <summary>
/// One simulated incident (a pod kill of productcatalogservice) run through the engine with the dashboard
/// server up, a live SSE client listening from the start. The tests read what it served.
/// </summary>
[CollectionDefinition(DashboardFixture.Collection)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>;

public sealed class DashboardFixture : IAsyncLifetime
{
    public const string Collection = "dashboard";
    public const string Token = "t0ken";
    public const string RootCause = "productcatalogservice";
    public EngineMetrics Metrics { get; } = new();
    public DashboardFeed Feed { get; } = new();
    public CollectingRcaSink Events { get; } = new();
    public DashboardServer Server { get; private set; } = null!;
    public string Url => Server.Urls.First().TrimEnd('/');

    /// <summary>rca messages the live SSE client received during the run, with the delay after the sink wrote
    /// them.</summary>
    public List<(string Id, TimeSpan Delay)> Streamed { get; } = [];
    public RcaPipeline Pipeline { get; private set; } = null!;

    private readonly Dictionary<string, long> _writtenAt = [];

    public async Task InitializeAsync()
    {
        Server = new DashboardServer(new DashboardOptions { BearerToken = Token }, Feed, Metrics);
        await Server.StartAsync();
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var stop = new CancellationTokenSource();
        var stream = await http.GetStreamAsync(Url + "/api/stream", stop.Token);
        var listening = Listen(stream, stop.Token);

        var scorer = new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU);
        long t0 = new SimulationOptions().StartMs;
        var fault = new Fault(RootCause, FaultKind.PodKill, t0 + 6 * 60_000, t0 + 9 * 60_000, 0.7);
        var run = new SimulatedRun
        {
            Topology = TestData.OnlineBoutique(),
            Faults = [fault],
            Simulation = new SimulationOptions { Cluster = "online-boutique", Seed = 3 },
            EndMs = fault.EndMs + 60_000,
            Pipeline = new PipelineOptions { Metrics = Metrics },
        };
        Pipeline = await run.RunAsync(
            scorer,
            new FanOutRcaSink(new StampingSink(_writtenAt), Events, Feed),
            onScored: Feed.OnScored
        );

        // Every event written reaches the stream (the test asserts they are the same, in order).
        await TestData.WaitUntilAsync(
            () =>
            {
                lock (Streamed)
                    return Streamed.Count >= Events.Events.Count;
            },
            TestData.Generous
        );
        await stop.CancelAsync();
        try
        {
            await listening;
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
    }

    private async Task Listen(Stream stream, CancellationToken ct)
    {
        using var reader = new StreamReader(stream);
        string? eventName = null;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
                eventName = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && eventName == "rca")
            {
                long now = Stopwatch.GetTimestamp();
                var id = JsonDocument.Parse(line[6..]).RootElement.GetProperty("id").GetString()!;
                lock (_writtenAt)
                    lock (Streamed)
                        Streamed.Add((id, Stopwatch.GetElapsedTime(_writtenAt[id], now)));
            }
        }
    }

    /// <summary>Notes when each event reached the sinks (the SSE latency figure).</summary>
    private sealed class StampingSink(Dictionary<string, long> writtenAt) : IRcaSink
    {
        public ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
        {
            lock (writtenAt)
                writtenAt[rca.Id] = Stopwatch.GetTimestamp();
            return ValueTask.CompletedTask;
        }
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[Collection(DashboardFixture.Collection)]
public class DashboardTests(DashboardFixture fixture)
{
    private HttpClient Authorised()
    {
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DashboardFixture.Token);
        return http;
    }

    [Fact]
    public async Task ItListensOnLoopbackByDefaultAndRateLimitsClients()
    {
        Assert.All(fixture.Server.Urls, u => Assert.StartsWith("http://127.0.0.1:", u));
        var limited = new DashboardOptions
        {
            Http = new()
            {
                Listen = "127.0.0.1:0",
                RateLimitPerSecond = 1,
                RateLimitBurst = 2,
            },
        };
        await using var server = new DashboardServer(limited, new DashboardFeed(), new Observability.EngineMetrics());
        await server.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = server.Urls.First().TrimEnd('/') + "/api/events";
        var statuses = new List<int>();
        for (int i = 0; i < 4; i++)
            statuses.Add((int)(await http.GetAsync(url)).StatusCode);
        Assert.Equal(200, statuses[0]);
        Assert.Contains(429, statuses); // burst of 2, then refused with Retry-After
        Assert.True(server.Refused.RateLimited >= 1);
    }

    [Fact]
    public async Task EventsAndGraphAreServedAsJsonAndStreamedLive()
    {
        Assert.NotEmpty(fixture.Events.Events);
        using var http = Authorised();
        var events = JsonSerializer.Deserialize<List<RcaEvent>>(
            await http.GetStringAsync(fixture.Url + "/api/events"),
            RcaEvent.JsonOptions
        )!;
        Assert.Equal(fixture.Events.Events.Reverse().Select(e => e.Id), events.Select(e => e.Id)); // newest first
        Assert.Contains(events, e => e.Candidates[0].Service == DashboardFixture.RootCause);

        using var graphs = JsonDocument.Parse(await http.GetStringAsync(fixture.Url + "/api/graph"));
        var graph = graphs.RootElement.EnumerateArray().Single();
        Assert.Equal("online-boutique", graph.GetProperty("cluster").GetString());
        var services = graph.GetProperty("services").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Equal(TestData.OnlineBoutique().ServiceNames.Order(), services.Order());
        Assert.Equal(services.Count, graph.GetProperty("scores").GetArrayLength());
        Assert.Contains(
            graph.GetProperty("edges").EnumerateArray(),
            e => services[e[0].GetInt32()] == "frontend" && services[e[1].GetInt32()] == "cartservice"
        );

        // Every event reached the live SSE client, in order.
        Assert.Equal(fixture.Events.Events.Select(e => e.Id), fixture.Streamed.Select(s => s.Id));
        var delays = fixture.Streamed.Select(s => s.Delay.TotalMilliseconds).Order().ToArray();
        Console.WriteLine(
            $"SSE: {delays.Length} RCA events, "
                + $"sink → client delay median {delays[delays.Length / 2]:0.00} ms, max {delays[^1]:0.00} ms"
        );

        // The bearer token: required in a header or, for the browser, in the query string.
        using var anonymous = new HttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(fixture.Url + "/api/events")).StatusCode);
        Assert.Equal(
            HttpStatusCode.Unauthorized,
            (await anonymous.GetAsync(fixture.Url + "/metrics?token=wrong")).StatusCode
        );
        Assert.Equal(
            HttpStatusCode.OK,
            (await anonymous.GetAsync(fixture.Url + "/api/graph?token=" + DashboardFixture.Token)).StatusCode
        );
        // the page itself holds no data
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(fixture.Url + "/dashboard.js")).StatusCode);
    }

    [Fact]
    public void TheDashboardAssetsRequestNothingExternal()
    {
        foreach (var name in DashboardServer.AssetNames)
        {
            var text = System.Text.Encoding.UTF8.GetString(DashboardServer.ReadAsset(name));
            Assert.False(string.IsNullOrWhiteSpace(text), name);
            // The SVG namespace is an identifier, never fetched; any other absolute URL would be a request out.
            var absolute = Regex
                .Matches(text, @"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", RegexOptions.IgnoreCase)
                .Select(m => m.Value)
                .Where(u => u != "http://www.w3.org")
                .ToList();
            Assert.True(absolute.Count == 0, $"{name} names external URLs: {string.Join(", ", absolute)}");
            Assert.DoesNotMatch(@"@import|url\(\s*['""]?(https?:|//)", text);
        }
        var page = System.Text.Encoding.UTF8.GetString(DashboardServer.ReadAsset("index.html"));
        var references = Regex.Matches(page, @"(?:src|href)=""([^""]+)""").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["dashboard.css", "dashboard.js"], references.Order());
    }

    [Fact]
    public void HeadlessChromiumRendersTheRootCauseAndTheExplanations()
    {
        if (!File.Exists("/usr/bin/chromium"))
        {
            Console.WriteLine("skipped: /usr/bin/chromium is not installed (Debian package chromium)");
            return;
        }
        // ?once=1: the stream replays the current state over SSE and ends, so the page's network goes idle
        // and the virtual-time budget can run out (a live stream would keep headless Chromium waiting).
        var url = $"{fixture.Url}/?token={DashboardFixture.Token}&once=1";
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

        // JavaScript ran, the SSE replay arrived, and the injected service is drawn as the rank-1 candidate.
        Assert.True(
            Regex.IsMatch(dom, @"data-streamed=""[1-9]\d*"""),
            "no SSE message reached the page:\n" + dom[..Math.Min(dom.Length, 1500)]
        );
        Assert.Matches(
            $@"<g class=""node candidate rank-1( [a-z-]+)*"" data-service=""{DashboardFixture.RootCause}""",
            dom
        );
        Assert.Single(Regex.Matches(dom, @"class=""node candidate rank-1[ ""]"));
        var first = fixture.Events.Events.First(e => e.Candidates[0].Service == DashboardFixture.RootCause);
        Assert.Contains(first.Explanation[..60].Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;"), dom);
        Assert.Equal(fixture.Events.Events.Count, Regex.Matches(dom, @"<li class=""event""").Count);

        var png = Path.Combine(dir, "dashboard.png");
        (exit, _, err) = TestData.RunProcess(
            "chromium",
            [.. common, "--window-size=1280,800", $"--screenshot={png}", url],
            TimeSpan.FromSeconds(90)
        );
        Assert.True(exit == 0, err);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]); // PNG signature
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        int width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)),
            height = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
        Assert.Equal((1280, 800), (width, height));
        Assert.True(
            bytes.Length > 20_000,
            $"screenshot of {bytes.Length} bytes is suspiciously small (a blank page compresses to a few KB)"
        );
        Console.WriteLine($"dashboard screenshot: {png} ({bytes.Length:N0} bytes)");
    }
}

[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public class DashboardCliTests
{
    [Fact]
    public async Task DemoWithHttpServesTheDashboardAndStaysUpAfterTheRun()
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestData.RepoRoot,
        };
        foreach (
            var a in new[] { TestData.CliDll, "demo", "--seed", "3", "--http", "127.0.0.1:0", "--http-token", "abc" }
        )
            psi.ArgumentList.Add(a);
        using var demo = Process.Start(psi)!;
        try
        {
            _ = demo.StandardOutput.ReadToEndAsync();
            var stderr = new System.Text.StringBuilder();
            string? url = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            // The address comes first; "stays up" once the simulated run has finished.
            while (await demo.StandardError.ReadLineAsync(timeout.Token) is { } line)
            {
                stderr.AppendLine(line);
                url ??= Regex.Match(line, @"^dashboard: (http://127\.0\.0\.1:\d+)/").Groups[1].Value
                    is { Length: > 0 } u
                    ? u
                    : null;
                if (line.Contains("the dashboard stays up", StringComparison.Ordinal))
                    break;
            }
            Assert.True(url is not null && !demo.HasExited, stderr.ToString());
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(url + "/api/events")).StatusCode);
            var events = JsonSerializer.Deserialize<List<RcaEvent>>(
                await http.GetStringAsync(url + "/api/events?token=abc"),
                RcaEvent.JsonOptions
            )!;
            Assert.NotEmpty(events);
            var metrics = await http.GetStringAsync(url + "/metrics?token=abc");
            // The pipeline counts window events; the incident stage's resolution event comes on top.
            Assert.Equal(
                events.Count(e => e.Incident?.State != IncidentInfo.Resolved),
                MetricsTests.Samples(metrics)["logwhisperer_rca_events_total"]
            );
            Assert.Contains("<title>LogWhisperer</title>", await http.GetStringAsync(url + "/"));
        }
        finally
        {
            if (!demo.HasExited)
                demo.Kill(true);
        }
    }
}
