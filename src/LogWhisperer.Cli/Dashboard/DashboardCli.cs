using System.CommandLine;
using LogWhisperer.Observability;

namespace LogWhisperer.Cli.Dashboard;

/// <summary>The --http option of the commands that run the engine, and starting the server it asks for.</summary>
internal static class DashboardCli
{
    public static Option<string?> HttpOption() =>
        new("--http", "--dashboard")
        {
            Description =
                "Serve the live dashboard, /api/graph, /api/events, /api/stream (SSE) "
                + "and /metrics at PORT or HOST:PORT (loopback when only a port is given)",
        };

    public static Option<string?> TokenOption() =>
        new("--http-token")
        {
            Description = "Require this bearer token on the dashboard and /metrics (the browser passes it as ?token=)",
        };

    /// <returns>Null when no address was given.</returns>
    public static async Task<DashboardServer?> StartAsync(
        string? address,
        string? token,
        DashboardFeed feed,
        EngineMetrics metrics,
        TextWriter log,
        string? tlsCertificate = null,
        string? tlsKey = null,
        Configuration.AlertSinks? incidents = null,
        Hosting.Readiness? readiness = null
    )
    {
        if (address is null)
            return null;
        var http = new Gateway.HttpSecurityOptions
        {
            Listen = DashboardOptions.ListenFrom(address),
            TlsCertificatePath = tlsCertificate,
            TlsKeyPath = tlsKey,
        };
        var console = incidents is null
            ? null
            : new IncidentConsole(
                incidents.Store,
                f => incidents.GiveFeedback(f, DateTimeOffset.UtcNow),
                incidents.Feedback
            );
        var server = new DashboardServer(
            new DashboardOptions { Http = http, BearerToken = token },
            feed,
            metrics,
            console,
            readiness
        );
        await server.StartAsync();
        var url = server.Urls.First().TrimEnd('/');
        log.WriteLine(
            $"dashboard: {url}/{(token is null ? "" : "?token=…")}  (JSON: {url}/api/events, {url}/api/graph; metrics: {url}/metrics; probes: {url}/healthz, {url}/readyz)"
        );
        return server;
    }
}
