using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace LogWhisperer.Cli.Gateway;

/// <summary>
/// How an HTTP endpoint of the engine (the ingest gateway; the dashboard can reuse it) is exposed. Safe by
/// default: loopback only, bodies capped, requests rate-limited per client. Exposing it is explicit
/// (<see cref="Listen"/> 0.0.0.0:PORT), and then a bearer token and TLS are what a user sets.
/// </summary>
public sealed record HttpSecurityOptions
{
    /// <summary>host:port (or a full http/https URL) to listen on; port 0 picks a free one. Loopback by
    /// default.</summary>
    public string Listen { get; init; } = "127.0.0.1:3100";

    /// <summary>When set, every request must carry "Authorization: Bearer &lt;token&gt;" (401 otherwise).</summary>
    public string? BearerToken { get; init; }

    /// <summary>TLS certificate and private key, PEM files. Alternatively Kestrel's own configuration
    /// (Kestrel:Endpoints:Https:…).</summary>
    public string? TlsCertificatePath { get; init; }
    public string? TlsKeyPath { get; init; }

    /// <summary>Largest request body accepted, as sent (413 above).</summary>
    public long MaxRequestBytes { get; init; } = 16 << 20;

    /// <summary>Largest body after undoing its compression (Content-Encoding, or the format's own snappy): zip bombs
    /// get a 413.</summary>
    public long MaxDecodedBytes { get; init; } = 64 << 20;

    /// <summary>Requests per second each client (remote address) may make, with bursts up to
    /// <see cref="RateLimitBurst"/>; 0 = unlimited.</summary>
    public int RateLimitPerSecond { get; init; } = 200;
    public int RateLimitBurst { get; init; } = 400;
}

/// <summary>Requests refused before they reached an endpoint.</summary>
public sealed class HttpSecurityCounters
{
    private long _unauthorized,
        _rateLimited;
    public long Unauthorized => Interlocked.Read(ref _unauthorized);
    public long RateLimited => Interlocked.Read(ref _rateLimited);

    internal void CountUnauthorized() => Interlocked.Increment(ref _unauthorized);

    internal void CountRateLimited() => Interlocked.Increment(ref _rateLimited);
}

/// <summary>Applies <see cref="HttpSecurityOptions"/> to a Kestrel app: listen address and TLS, body limit, per-client
/// rate limit, bearer auth.</summary>
public static class HttpSecurity
{
    /// <summary>Before Build(): where and how Kestrel listens, and the services the middleware needs.</summary>
    public static void Configure(
        WebApplicationBuilder builder,
        HttpSecurityOptions options,
        HttpSecurityCounters counters
    )
    {
        if ((options.TlsCertificatePath is null) != (options.TlsKeyPath is null))
            throw new ArgumentException("TLS needs both a certificate and a key (PEM files)");
        builder.WebHost.UseKestrelHttpsConfiguration(); // the slim builder leaves HTTPS out unless asked
        bool configured = builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
        if (!configured)
        {
            var (address, port) = ParseListen(options.Listen);
            X509Certificate2? certificate = options.TlsCertificatePath is null
                ? null
                : LoadPem(options.TlsCertificatePath, options.TlsKeyPath!);
            builder.WebHost.ConfigureKestrel(k =>
                k.Listen(
                    address,
                    port,
                    listen =>
                    {
                        if (certificate is not null)
                            listen.UseHttps(certificate);
                    }
                )
            );
        }
        builder.Services.Configure<KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        if (options.RateLimitPerSecond > 0)
            builder.Services.AddRateLimiter(r =>
            {
                r.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(ctx =>
                    RateLimitPartition.GetTokenBucketLimiter(
                        ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                        _ => new TokenBucketRateLimiterOptions
                        {
                            TokenLimit = Math.Max(options.RateLimitBurst, 1),
                            TokensPerPeriod = options.RateLimitPerSecond,
                            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                            QueueLimit = 0,
                            AutoReplenishment = true,
                        }
                    )
                );
                r.OnRejected = async (context, ct) =>
                {
                    counters.CountRateLimited();
                    var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after)
                        ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds))
                        : 1;
                    context.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                    context.HttpContext.Response.Headers.RetryAfter = retry.ToString(
                        System.Globalization.CultureInfo.InvariantCulture
                    );
                    await context.HttpContext.Response.WriteAsync("too many requests\n", ct);
                };
            });
    }

    /// <summary>After Build(), before the endpoints: rate limiting first (it also slows token guessing), then
    /// authentication.</summary>
    public static void Use(WebApplication app, HttpSecurityOptions options, HttpSecurityCounters counters)
    {
        if (options.RateLimitPerSecond > 0)
            app.UseRateLimiter();
        if (options.BearerToken is { } token)
            app.Use(
                async (ctx, next) =>
                {
                    // Kubernetes probes carry no token; /healthz and /readyz tell nothing but ok or what is missing.
                    if (
                        Hosting.HealthEndpoints.IsProbe(ctx.Request.Path)
                        || TokenMatches(ctx.Request.Headers.Authorization.ToString(), token)
                    )
                    {
                        await next(ctx);
                        return;
                    }
                    counters.CountUnauthorized();
                    ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    ctx.Response.Headers.WWWAuthenticate = "Bearer";
                    await ctx.Response.WriteAsync("missing or wrong bearer token\n");
                }
            );
    }

    /// <summary>
    /// Compares in constant time: both sides are hashed first, so neither the position of the first wrong
    /// character nor the token's length shows in the response time.
    /// </summary>
    public static bool TokenMatches(string? authorizationHeader, string token)
    {
        const string scheme = "Bearer ";
        if (authorizationHeader is null || !authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(authorizationHeader[scheme.Length..].Trim()));
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }

    /// <summary>"127.0.0.1:3100", "0.0.0.0:3100", "[::1]:3100", "localhost:3100" or a URL such as
    /// "http://127.0.0.1:3100".</summary>
    public static (IPAddress Address, int Port) ParseListen(string listen)
    {
        var text = listen.Contains("://", StringComparison.Ordinal)
            ? new Uri(listen.Replace("://+", "://0.0.0.0").Replace("://*", "://0.0.0.0")).Authority
            : listen;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out int port) || port is < 0 or > 65535)
            throw new ArgumentException(
                $"listen address '{listen}' must be host:port, e.g. 127.0.0.1:3100 or 0.0.0.0:3100"
            );
        var host = text[..colon].Trim('[', ']');
        var address =
            host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var ip) ? ip
            : throw new ArgumentException(
                $"listen address '{listen}': '{host}' is not an IP address (use 0.0.0.0 to listen on every interface)"
            );
        return (address, port);
    }

    private static X509Certificate2 LoadPem(string certificatePath, string keyPath)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        // Kestrel needs the key in a form the platform's TLS stack can use: a PKCS#12 round trip gives it one.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
