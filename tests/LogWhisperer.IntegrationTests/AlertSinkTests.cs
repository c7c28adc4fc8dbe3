using System.Text.Json;
using LogWhisperer.Explain;
using LogWhisperer.Hosting;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using Microsoft.Extensions.Logging;
using static LogWhisperer.Tests.SampleRcaEvents;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

public sealed class AlertmanagerFixture : IDisposable
{
    public AlertmanagerProcess Alertmanager { get; } = new();

    public void Dispose() => Alertmanager.Dispose();
}

/// <summary>Alert routing: Alertmanager for real; Slack, Opsgenie and webhooks against a capturing HTTP
/// stand-in.</summary>
public class AlertSinkTests(AlertmanagerFixture fixture) : IClassFixture<AlertmanagerFixture>
{
    private static readonly DeliveryOptions Fast = new()
    {
        Retries = 2,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        Timeout = TimeSpan.FromSeconds(5),
    };
    private static readonly long T0 = new SimulationOptions().StartMs;

    private static DateTimeOffset WindowEnd(int window) =>
        DateTimeOffset.FromUnixTimeMilliseconds(T0 + (window + 1) * 30_000L);

    [Fact]
    public async Task AlertmanagerShowsTheIncidentAndResolvesItOnAQuietWindow()
    {
        var am = fixture.Alertmanager;
        string cluster = "am-quiet-" + Guid.NewGuid().ToString("n")[..8];
        using var sink = new AlertmanagerSink(am.Url, Fast, "http://dashboard.example:8080/incidents");
        await sink.WriteAsync(Incident(cluster, "paymentservice", 12), default);
        await sink.WriteAsync(
            Incident(cluster, "paymentservice", 13, kind: "Latency", explanation: "still failing, token=abc123secret"),
            default
        );
        Assert.Equal(2, sink.Delivery.Delivered);

        var alerts = await am.ActiveAlertsAsync(("cluster", cluster));
        var alert = Assert.Single(alerts)!;
        var labels = alert["labels"]!.AsObject();
        Assert.Equal(AlertmanagerSink.AlertName, labels["alertname"]!.GetValue<string>());
        Assert.Equal("paymentservice", labels["service"]!.GetValue<string>());
        // labels are the incident's identity: those of its first event
        Assert.Equal("Errors", labels["fault_kind"]!.GetValue<string>());
        Assert.Equal("critical", labels["severity"]!.GetValue<string>());
        var annotations = alert["annotations"]!.AsObject();
        Assert.Contains("paymentservice is the likely root cause", annotations["summary"]!.GetValue<string>());
        var description = annotations["description"]!.GetValue<string>();
        Assert.StartsWith("still failing", description); // descriptions follow the latest event
        Assert.DoesNotContain("abc123secret", description);
        Assert.Equal($"rca-{cluster}-{T0 + 13 * 30_000L}", annotations["event_id"]!.GetValue<string>());
        Assert.Equal(
            $"http://dashboard.example:8080/incidents?event=rca-{cluster}-{T0 + 13 * 30_000L}",
            alert["generatorURL"]!.GetValue<string>()
        );
        Assert.Equal(
            DateTimeOffset.FromUnixTimeMilliseconds(T0 + 12 * 30_000L),
            DateTimeOffset.Parse(alert["startsAt"]!.GetValue<string>())
        );
        Assert.Equal("active", alert["status"]!["state"]!.GetValue<string>());
        // alive until resolve_timeout
        Assert.True(DateTimeOffset.Parse(alert["endsAt"]!.GetValue<string>()) > DateTimeOffset.UtcNow);

        await sink.QuietAsync(cluster, WindowEnd(14), default);
        Assert.Empty(await am.ActiveAlertsAsync(("cluster", cluster)));
        await sink.QuietAsync(cluster, WindowEnd(15), default); // nothing open: nothing sent
        Assert.Equal(3, sink.Delivery.Delivered);
        Assert.Equal(0, sink.Delivery.Failed);
    }

    [Fact]
    public async Task AlertmanagerResolvesThePreviousAlertWhenTheRootCauseMoves()
    {
        var am = fixture.Alertmanager;
        string cluster = "am-move-" + Guid.NewGuid().ToString("n")[..8];
        string other = "am-other-" + Guid.NewGuid().ToString("n")[..8];
        using var sink = new AlertmanagerSink(am.Url, Fast);
        await sink.WriteAsync(Incident(cluster, "cartservice", 12), default);
        await sink.WriteAsync(Incident(other, "adservice", 12, probability: 0.6), default);
        await sink.WriteAsync(Incident(cluster, "redis-cart", 13, kind: "Latency"), default);

        var alert = Assert.Single(await am.ActiveAlertsAsync(("cluster", cluster)))!;
        Assert.Equal("redis-cart", alert["labels"]!["service"]!.GetValue<string>());
        Assert.Equal("Latency", alert["labels"]!["fault_kind"]!.GetValue<string>());
        Assert.Null(alert["generatorURL"]);
        // Another cluster's incident is untouched by this one's changes.
        var otherAlert = Assert.Single(await am.ActiveAlertsAsync(("cluster", other)))!;
        Assert.Equal("warning", otherAlert["labels"]!["severity"]!.GetValue<string>());
        await sink.QuietAsync(cluster, WindowEnd(14), default);
        Assert.Empty(await am.ActiveAlertsAsync(("cluster", cluster)));
        Assert.Single(await am.ActiveAlertsAsync(("cluster", other)));
    }

    /// <summary>`demo --alertmanager` end to end: every event fires the incident's alert, the quiet windows after the
    /// fault resolve it.</summary>
    [Fact]
    public async Task DemoRoutesItsIncidentToAlertmanagerAndResolvesIt()
    {
        var am = fixture.Alertmanager;
        await using var webhook = await CapturingHttpServer.StartAsync();
        var before = await ReceivedAsync(am);
        var (exit, stdout, stderr) = CliTests.Run(
            "demo",
            "--seed",
            "7",
            "--alertmanager",
            am.Url.ToString(),
            "--webhook",
            webhook.Url.ToString()
        );
        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int resolutions = lines.Count(l => l.Contains("\"state\":\"resolved\""));
        int events = lines.Length - resolutions;
        Assert.True(events > 0);
        Assert.Equal(1, resolutions); // the incident stage resolved the incident with an event of its own
        var after = await ReceivedAsync(am);
        // one firing alert per window event (Alertmanager's own count)
        Assert.Equal(events, after.Firing - before.Firing);
        Assert.True(after.Resolved - before.Resolved >= 1, stderr); // and the incident resolved
        // The injected fault's incident is no longer active (a later false alarm may still be: it is another incident).
        var resolvedRoot = lines
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("incident").GetProperty("state").GetString() == "resolved")
            .Select(e => e.GetProperty("candidates")[0].GetProperty("service").GetString()!)
            .Single();
        Assert.Empty(await am.ActiveAlertsAsync(("cluster", "online-boutique"), ("service", resolvedRoot)));
        Assert.Equal(lines.Length, webhook.Requests.Count); // the webhook saw every event, the resolution too
        Assert.Contains($"alertmanager: {events + after.Resolved - before.Resolved} delivered, 0 failed", stderr);
    }

    private static async Task<(double Firing, double Resolved)> ReceivedAsync(AlertmanagerProcess am)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var metrics = (await http.GetStringAsync(new Uri(am.Url, "metrics")))
            .Split('\n')
            .Where(l => l.StartsWith("alertmanager_alerts_received_total{"))
            .ToList();
        double Sum(string status) =>
            metrics
                .Where(l => l.Contains($"status=\"{status}\""))
                .Sum(l =>
                    double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)
                );
        return (Sum("firing"), Sum("resolved"));
    }

    [Fact]
    public async Task AlertmanagerUnreachableIsCountedNotThrown()
    {
        using var sink = new AlertmanagerSink(new Uri("http://127.0.0.1:9/"), Fast); // discard port: connection refused
        await sink.WriteAsync(Incident("c", "svc", 1), default);
        Assert.Equal(1, sink.Delivery.Failed);
        Assert.Equal(2, sink.Delivery.Retried);
    }

    private sealed class QuietCounter : IRcaSink
    {
        public int Events,
            Quiet;

        public ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
        {
            Events++;
            return ValueTask.CompletedTask;
        }

        public ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken)
        {
            Quiet++;
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task PipelineReportsEveryQuietWindowToItsSink()
    {
        var scorer = new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU);
        var counter = new QuietCounter();
        var fault = new Fault("cartservice", FaultKind.Latency, T0 + 6 * 60_000, T0 + 8 * 60_000, 0.7);
        var pipeline = await new SimulatedRun
        {
            Topology = TestData.OnlineBoutique(),
            Faults = [fault],
            Simulation = new SimulationOptions { Seed = 21 },
        }.RunAsync(scorer, new FanOutRcaSink(new CollectingRcaSink(), counter));
        Assert.True(counter.Quiet > 0 && counter.Events > 0, $"{counter.Quiet} quiet, {counter.Events} events");
        Assert.Equal(pipeline.Counters.QuietWindows, counter.Quiet);
        Assert.Equal(pipeline.Sink.RecordsOut, counter.Events);
    }

    [Fact]
    public async Task WebhookPostsTheEventWithItsHeadersAndRetriesServerErrors()
    {
        await using var server = await CapturingHttpServer.StartAsync();
        server.Respond = n => n < 2 ? 500 : 200;
        using var sink = new WebhookSink(
            new Uri(server.Url, "hooks/rca"),
            Fast with
            {
                BearerToken = "s3cr3t-token",
                Headers = new Dictionary<string, string> { ["X-Team"] = "sre" },
            }
        );
        var rca = Incident("shop", "paymentservice", 3);
        await sink.WriteAsync(rca, default);

        Assert.Equal(3, server.Requests.Count);
        Assert.All(
            server.Requests,
            r =>
            {
                Assert.Equal(("POST", "/hooks/rca"), (r.Method, r.PathAndQuery));
                Assert.Equal("Bearer s3cr3t-token", r.Headers["Authorization"]);
                Assert.Equal("sre", r.Headers["X-Team"]);
                Assert.StartsWith("application/json", r.Headers["Content-Type"]);
                Assert.Equal(rca.ToJson(), r.Body);
            }
        );
        Assert.Equal((1, 0, 2), (sink.Delivery.Delivered, sink.Delivery.Failed, sink.Delivery.Retried));
        Assert.Empty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.Event, server.Requests[0].Body));
    }

    [Fact]
    public async Task WebhookFailuresAreCountedAndClientErrorsNotRetried()
    {
        await using var server = await CapturingHttpServer.StartAsync();
        server.Respond = _ => 503;
        using var sink = new WebhookSink(server.Url, Fast);
        await sink.WriteAsync(Incident("shop", "a", 1), default);
        Assert.Equal(3, server.Requests.Count); // 1 + 2 retries
        server.Respond = _ => 400;
        await sink.WriteAsync(Incident("shop", "a", 2), default);
        Assert.Equal(4, server.Requests.Count); // a 4xx is final
        Assert.Equal((0, 2, 2), (sink.Delivery.Delivered, sink.Delivery.Failed, sink.Delivery.Retried));
    }

    [Fact]
    public async Task SlackGetsOneBlockKitMessagePerIncidentAndOneWhenItResolves()
    {
        await using var server = await CapturingHttpServer.StartAsync();
        using var sink = new SlackSink(new Uri(server.Url, "services/T000/B000/XXXX"), Fast);
        await sink.WriteAsync(
            Incident("shop", "paymentservice", 3, explanation: "paymentservice <fails> & auth token=abc123secret"),
            default
        );
        await sink.WriteAsync(Incident("shop", "paymentservice", 4), default); // same incident: no new message
        await sink.QuietAsync("shop", WindowEnd(5), default);

        Assert.Equal(2, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal("/services/T000/B000/XXXX", r.PathAndQuery));
        var opened = server.Requests[0].Json.AsObject();
        Assert.Equal(["text", "blocks"], opened.Select(p => p.Key));
        Assert.Contains(
            "paymentservice is the likely root cause of an incident in shop",
            opened["text"]!.GetValue<string>()
        );
        var blocks = opened["blocks"]!.AsArray();
        Assert.Equal(["header", "section", "section", "context"], blocks.Select(b => b!["type"]!.GetValue<string>()));
        Assert.Equal("plain_text", blocks[0]!["text"]!["type"]!.GetValue<string>());
        Assert.Equal("Incident in shop: paymentservice", blocks[0]!["text"]!["text"]!.GetValue<string>());
        Assert.All(blocks.Skip(1).Take(2), b => Assert.Equal("mrkdwn", b!["text"]!["type"]!.GetValue<string>()));
        Assert.Contains("*Root cause:* `paymentservice` (90 %)", blocks[1]!["text"]!["text"]!.GetValue<string>());
        var explanation = blocks[2]!["text"]!["text"]!.GetValue<string>();
        Assert.Equal(
            "paymentservice &lt;fails&gt; &amp; auth token=<redacted>",
            explanation.Replace("&lt;redacted&gt;", "<redacted>")
        );
        Assert.Equal("mrkdwn", blocks[3]!["elements"]![0]!["type"]!.GetValue<string>());
        var resolved = server.Requests[1].Json.AsObject();
        Assert.StartsWith(
            ":white_check_mark: Resolved: incident in shop with root cause `paymentservice`",
            resolved["text"]!.GetValue<string>()
        );
    }

    [Fact]
    public async Task OpsgenieOpensOneAlertPerIncidentAndClosesItByAlias()
    {
        await using var server = await CapturingHttpServer.StartAsync();
        using var sink = new OpsgenieSink(server.Url, "genie-key-123", Fast);
        var longName = "a-service-with-a-rather-long-name-" + new string('x', 120);
        await sink.WriteAsync(Incident("shop", longName, 3, probability: 0.97), default);
        await sink.WriteAsync(Incident("shop", longName, 4), default); // same incident: deduplicated here already
        // root cause moved
        await sink.WriteAsync(Incident("shop", "cartservice", 5, kind: "Latency", probability: 0.7), default);
        await sink.QuietAsync("shop", WindowEnd(6), default);

        var requests = server.Requests;
        Assert.Equal(4, requests.Count);
        Assert.All(requests, r => Assert.Equal("GenieKey genie-key-123", r.Headers["Authorization"]));
        Assert.Equal(
            [
                "/v2/alerts",
                $"/v2/alerts/{Uri.EscapeDataString($"logwhisperer/shop/{longName}")}/close?identifierType=alias",
                "/v2/alerts",
                "/v2/alerts/logwhisperer%2Fshop%2Fcartservice/close?identifierType=alias",
            ],
            requests.Select(r => r.PathAndQuery)
        );

        var create = requests[0].Json.AsObject();
        Assert.Equal(
            ["message", "alias", "description", "priority", "tags", "details", "entity", "source"],
            create.Select(p => p.Key)
        );
        var message = create["message"]!.GetValue<string>();
        Assert.Equal(OpsgenieSink.MessageLimit, message.Length);
        Assert.EndsWith("…", message);
        Assert.Equal($"logwhisperer/shop/{longName}", create["alias"]!.GetValue<string>());
        Assert.Equal("P1", create["priority"]!.GetValue<string>());
        Assert.Equal("P3", requests[2].Json["priority"]!.GetValue<string>());
        Assert.Contains("password=<redacted>", create["description"]!.GetValue<string>());
        Assert.Equal(
            ["logwhisperer", "cluster:shop", $"service:{longName}", "fault:Errors"],
            create["tags"]!.AsArray().Select(t => t!.GetValue<string>())
        );
        Assert.Equal("shop", create["details"]!["cluster"]!.GetValue<string>());
        Assert.Equal("0.97", create["details"]!["incidentProbability"]!.GetValue<string>());
        Assert.All(
            create["details"]!.AsObject(),
            d => Assert.Equal(System.Text.Json.JsonValueKind.String, d.Value!.GetValueKind())
        ); // Opsgenie details are string → string
        var close = requests[1].Json.AsObject();
        Assert.Equal("LogWhisperer", close["source"]!.GetValue<string>());
        Assert.Equal("Resolved: root cause moved to cartservice", close["note"]!.GetValue<string>());
        Assert.StartsWith("Resolved: quiet window ending", requests[3].Json["note"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeliveryLogsNameTheEndpointButNeverItsCredentials()
    {
        await using var server = await CapturingHttpServer.StartAsync();
        server.Respond = _ => 500;
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var log = factory.CreateLogger("LogWhisperer.Sinks");
        using var slack = new SlackSink(new Uri(server.Url, "services/T000/B000/SLACKSECRETPATH"), Fast, log);
        using var hook = new WebhookSink(
            server.Url,
            Fast with
            {
                BearerToken = "BEARERSECRET",
                Headers = new Dictionary<string, string> { ["X-Api-Key"] = "HEADERSECRET" },
            },
            log
        );
        using var genie = new OpsgenieSink(server.Url, "GENIESECRET", Fast, log);
        foreach (IRcaSink sink in new IRcaSink[] { slack, hook, genie })
            await sink.WriteAsync(Incident("shop", "svc", 1), default);

        Assert.Equal(
            3,
            logs.Lines.Count(l =>
                l.StartsWith("Warning")
                && l.Contains(server.Url.GetLeftPart(UriPartial.Authority))
                && l.Contains("HTTP 500")
            )
        );
        Assert.Contains(logs.Lines, l => l.StartsWith("Debug") && l.Contains("retrying"));
        foreach (var secret in new[] { "SLACKSECRETPATH", "BEARERSECRET", "HEADERSECRET", "GENIESECRET" })
            Assert.DoesNotContain(logs.Lines, l => l.Contains(secret));
    }
}
