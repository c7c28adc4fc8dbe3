using System.ComponentModel;

namespace LogWhisperer.Cli.Configuration;

/// <summary>The live dashboard and its API, served by the running engine.</summary>
internal sealed class DashboardSection
{
    [Description(
        "Serve the live dashboard, /api/graph, /api/events, /api/stream (SSE) and /metrics at PORT or "
            + "HOST:PORT (loopback when only a port is given). Unset: no web server."
    )]
    [CliOption("--http", CliCommands.Running, "--dashboard")]
    public string? Http { get; set; }

    [Description("Require Authorization: Bearer <token> on /api/* and /metrics (a browser passes it as ?token=).")]
    [Secret]
    [CliOption("--http-token", CliCommands.Running)]
    public string? BearerToken { get; set; }

    [Description(
        "TLS certificate, PEM (with TlsKeyPath); or configure Kestrel:Endpoints:Https the standard Kestrel " + "way."
    )]
    public string? TlsCertificatePath { get; set; }

    [Description("TLS private key, PEM.")]
    public string? TlsKeyPath { get; set; }
}
