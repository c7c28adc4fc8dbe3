using System.Reflection;
using LogWhisperer.Cli.Configuration;
using LogWhisperer.Cli.Gateway;
using LogWhisperer.Observability;
using LogWhisperer.Sinks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Dashboard;

public sealed record DashboardOptions
{
    /// <summary>
    /// Where and how it listens (the gateway's rules: loopback unless asked otherwise — the dashboard shows
    /// service names and log templates —, TLS, per-client rate limit). Its bearer token is <see cref="BearerToken"/>.
    /// </summary>
    public HttpSecurityOptions Http { get; init; } = new() { Listen = "127.0.0.1:0" };

    /// <summary>When set, /api and /metrics need "Authorization: Bearer &lt;token&gt;" or ?token= (the page passes its
    /// own on).</summary>
    public string? BearerToken { get; init; }

    /// <summary>How many of the latest RCA events /api/events returns.</summary>
    public int Events { get; init; } = 50;

    /// <summary>"PORT" (on loopback), "HOST:PORT" or a full URL, as given to --http / --dashboard.</summary>
    public static string ListenFrom(string address) => int.TryParse(address, out _) ? $"127.0.0.1:{address}" : address;
}

/// <summary>
/// The engine's web face on Kestrel: the live dashboard (/, with its assets embedded in this assembly),
/// the current graphs and recent RCA events as JSON (/api/graph, /api/events), their live stream as
/// server-sent events (/api/stream), and the engine's metrics in the Prometheus text format (/metrics, by
/// OpenTelemetry's Prometheus exporter).
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private static readonly Dictionary<string, string> Assets = new()
    {
        ["/"] = "index.html",
        ["/index.html"] = "index.html",
        ["/dashboard.js"] = "dashboard.js",
        ["/dashboard.css"] = "dashboard.css",
    };
    private readonly WebApplication _app;
    private readonly string _listen;

    public IEnumerable<string> Urls => _app.Urls;

    /// <summary>Requests refused by the rate limit (the token check counts nothing).</summary>
    public HttpSecurityCounters Refused { get; } = new();

    /// <param name="incidents">The incident console's store and feedback (none: no incident API).</param>
    /// <param name="readiness">What /readyz checks (none: ready once serving).</param>
    public DashboardServer(
        DashboardOptions options,
        DashboardFeed feed,
        EngineMetrics metrics,
        IncidentConsole? incidents = null,
        Hosting.Readiness? readiness = null
    )
    {
        _listen = options.Http.Listen;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        Hosting.EmbeddedLifetime.Use(builder.Services); // the command's host owns the signals
        Hosting.HealthEndpoints.AddServices(builder.Services, readiness ?? new Hosting.Readiness());
        // The page itself must load without a token (a browser cannot add one), so the token is checked below,
        // per path, rather than by HttpSecurity for every request.
        var http = options.Http with
        {
            BearerToken = null,
        };
        HttpSecurity.Configure(builder, http, Refused);
        Observability.EngineTelemetry.AddPrometheus(builder, metrics);
        _app = builder.Build();
        HttpSecurity.Use(_app, http, Refused);
        var stopping = _app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        _app.Use(
            async (ctx, next) =>
            {
                // The page and its script hold no data, and the browser cannot add the token to their requests;
                // everything under /api and /metrics needs it.
                bool isData =
                    ctx.Request.Path.StartsWithSegments("/api") || ctx.Request.Path.StartsWithSegments("/metrics");
                if (!isData || BearerToken.Allows(ctx, options.BearerToken, allowQuery: true))
                {
                    await next(ctx);
                    return;
                }
                ctx.Response.StatusCode = 401;
                await ctx.Response.WriteAsync("missing or wrong bearer token\n");
            }
        );
        Hosting.HealthEndpoints.Map(_app);
        foreach (var (path, resource) in Assets)
            _app.MapGet(path, () => Results.Bytes(ReadAsset(resource), ContentTypeOf(resource)));
        _app.MapGet("/api/graph", () => Results.Text(feed.GraphsJson(), "application/json"));
        _app.MapGet("/api/events", () => Results.Text(feed.EventsJson(options.Events), "application/json"));
        Observability.EngineTelemetry.MapPrometheus(_app);
        _app.MapGet("/api/stream", (HttpContext ctx) => Stream(ctx, feed, stopping));
        incidents ??= new IncidentConsole(null, null);
        _app.MapGet("/api/incidents", () => Results.Text(incidents.PastJson(), "application/json"));
        _app.MapGet("/api/feedback", () => Results.Text(incidents.FeedbackJson(), "application/json"));
        _app.MapPost("/api/incidents/{id}/feedback", (string id, HttpContext ctx) => incidents.PostFeedback(id, ctx));
    }

    public Task StartAsync() =>
        Hosting.Listening.StartAsync(_app, _listen, Setting.Of((DashboardSection d) => d.Http).Hint);

    /// <summary>
    /// Server-sent events: first a replay of the current state (each cluster's graph, the recent events oldest
    /// first), then every change as it happens. With ?once=1 the stream ends after the replay: a headless
    /// browser only renders once the page's network is idle, which a live stream never is.
    /// </summary>
    private static async Task Stream(HttpContext ctx, DashboardFeed feed, CancellationToken stopping)
    {
        using var subscription = feed.Subscribe(); // before the replay, so nothing between the two is missed
        using var done = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        try
        {
            await ctx.Response.WriteAsync(": connected\n\n" + feed.Replay(), done.Token);
            await ctx.Response.Body.FlushAsync(done.Token);
            if (ctx.Request.Query["once"] == "1")
                return;
            await foreach (var message in subscription.Messages.ReadAllAsync(done.Token))
            {
                await ctx.Response.WriteAsync(message, done.Token);
                await ctx.Response.Body.FlushAsync(done.Token);
            }
        }
        catch (OperationCanceledException) { } // the browser went away or the engine is stopping
    }

    public static byte[] ReadAsset(string name)
    {
        using var stream =
            Assembly.GetExecutingAssembly().GetManifestResourceStream("dashboard/" + name)
            ?? throw new InvalidOperationException($"dashboard asset '{name}' is not embedded");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    public static IReadOnlyList<string> AssetNames => Assets.Values.Distinct().ToArray();

    private static string ContentTypeOf(string name) =>
        Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            _ => "application/octet-stream",
        };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// The incident console's server side: past incidents from the store (GET /api/incidents), verdict feedback
/// (POST /api/incidents/{id}/feedback with {"verdict": "confirm" | "reject" | "rootCause", "service", "note"})
/// and its history (GET /api/feedback, for the share of confirmed verdicts over time).
/// </summary>
/// <param name="giveFeedback">Applies feedback (null when the incident is unknown); null: feedback is not accepted
/// here.</param>
public sealed class IncidentConsole(
    IncidentStore? store,
    Func<VerdictFeedback, StoredIncident?>? giveFeedback,
    FeedbackStore? feedback = null
)
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = Explain.RcaEvent.JsonOptions;

    public string PastJson() => System.Text.Json.JsonSerializer.Serialize(store?.All ?? [], Json);

    public string FeedbackJson() =>
        System.Text.Json.JsonSerializer.Serialize(feedback?.All() ?? [], VerdictFeedback.Json);

    public async Task<IResult> PostFeedback(string id, HttpContext ctx)
    {
        if (giveFeedback is null)
            return Results.Problem("this engine keeps no incidents", statusCode: 501);
        VerdictFeedback? body;
        try
        {
            body = await System.Text.Json.JsonSerializer.DeserializeAsync<VerdictFeedback>(
                ctx.Request.Body,
                VerdictFeedback.Json,
                ctx.RequestAborted
            );
        }
        catch (System.Text.Json.JsonException e)
        {
            return Results.BadRequest(new { error = "invalid JSON: " + e.Message });
        }
        if (body is null)
            return Results.BadRequest(new { error = "empty body" });
        body = body with { IncidentId = id };
        if (body.Problem() is { } problem)
            return Results.BadRequest(new { error = problem });
        var judged = giveFeedback(body);
        return judged is null
            ? Results.NotFound(new { error = $"unknown incident '{id}'" })
            : Results.Text(System.Text.Json.JsonSerializer.Serialize(judged, Json), "application/json");
    }
}
