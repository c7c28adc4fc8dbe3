using System.ComponentModel;

namespace LogWhisperer.Cli.Configuration;

/// <summary>`gateway`: the ingest endpoint, its security and its limits.</summary>
internal sealed class GatewaySection
{
    [Description(
        "host:port the ingest gateway listens on; loopback unless told otherwise (0.0.0.0:3100 exposes it: "
            + "set a bearer token then)."
    )]
    [CliOption("--listen", CliCommands.Gateway)]
    public string Listen { get; set; } = "127.0.0.1:3100";

    [Description(
        "TLS certificate, PEM (with TlsKeyPath); or configure Kestrel:Endpoints:Https the standard Kestrel " + "way."
    )]
    [CliOption("--tls-cert", CliCommands.Gateway)]
    public string? TlsCertificatePath { get; set; }

    [Description("TLS private key, PEM.")]
    [CliOption("--tls-key", CliCommands.Gateway)]
    public string? TlsKeyPath { get; set; }

    [Description(
        "Requests per second per client (token bucket, burst twice that); 0 = unlimited. Above it: 429 with "
            + "Retry-After."
    )]
    [CliOption("--rate-limit", CliCommands.Gateway)]
    public int RateLimitPerSecond { get; set; } = 200;

    [Description("Require Authorization: Bearer <token> on every request (also read from LOGWHISPERER_GATEWAY_TOKEN).")]
    [Secret]
    [CliOption("--bearer-token", CliCommands.Gateway)]
    public string? BearerToken { get; set; }

    [Description("Largest request body accepted (413 above).")]
    [CliOption("--max-request-bytes", CliCommands.Gateway)]
    public long MaxRequestBytes { get; set; } = 16 << 20;

    [Description(
        "How long a request waits for Kafka to acknowledge its body; past it (or while Kafka is known down) "
            + "the answer is 503 with Retry-After."
    )]
    [CliOption("--delivery-timeout", CliCommands.Gateway)]
    public double DeliveryTimeoutSeconds { get; set; } = 5;

    [Description(
        "Request bodies read and decompressed at once (others wait their turn): peak memory is about this × "
            + "64 MiB under compression bombs. 0 = the number of CPUs, from 2 to 8."
    )]
    public int MaxConcurrentBodies { get; set; }
}
