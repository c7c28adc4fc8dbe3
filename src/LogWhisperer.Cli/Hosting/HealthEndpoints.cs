using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LogWhisperer.Cli.Hosting;

/// <summary>
/// What a command needs before it can do its work (broker reachable, model loaded, partitions assigned), each
/// condition a function that returns null when met or the reason it is not.
/// </summary>
public sealed class Readiness
{
    private readonly List<(string Name, Func<string?> Problem)> _conditions = [];

    public Readiness Require(string name, Func<string?> problem)
    {
        lock (_conditions)
            _conditions.Add((name, problem));
        return this;
    }

    /// <summary>"name: reason" for every condition not met.</summary>
    public IReadOnlyList<string> Problems()
    {
        lock (_conditions)
            return _conditions.Select(c => c.Problem() is { } p ? $"{c.Name}: {p}" : null).OfType<string>().ToList();
    }
}

/// <summary>
/// Kubernetes-style probes on the command's Kestrel server, through Microsoft.Extensions.Diagnostics.HealthChecks:
/// /healthz (liveness: the process serves HTTP; no checks run) and /readyz (readiness: every <see cref="Readiness"/>
/// condition; 503 with the reasons otherwise). Neither needs the bearer token: probes carry none, and they say
/// nothing but "ok" or what is missing.
/// </summary>
internal static class HealthEndpoints
{
    public const string LivePath = "/healthz",
        ReadyPath = "/readyz";
    private const string ReadyTag = "ready";

    public static void AddServices(IServiceCollection services, Readiness readiness) =>
        services.AddHealthChecks().AddCheck("ready", new ReadinessCheck(readiness), tags: [ReadyTag]);

    public static void Map(WebApplication app)
    {
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = Write });
        app.MapHealthChecks(
            ReadyPath,
            new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = Write }
        );
    }

    /// <summary>The probes pass the token check (see <see cref="Gateway.HttpSecurity"/> and the dashboard's).</summary>
    public static bool IsProbe(PathString path) => path == LivePath || path == ReadyPath;

    private static Task Write(HttpContext ctx, HealthReport report)
    {
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        var problems = report.Entries.Values.Select(e => e.Description).OfType<string>().Where(d => d.Length > 0);
        return ctx.Response.WriteAsync(
            report.Status == HealthStatus.Healthy ? "ok\n" : "not ready: " + string.Join("; ", problems) + "\n"
        );
    }

    private sealed class ReadinessCheck(Readiness readiness) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(
            HealthCheckContext context,
            CancellationToken cancellationToken = default
        )
        {
            var problems = readiness.Problems();
            return Task.FromResult(
                problems.Count == 0
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy(string.Join("; ", problems))
            );
        }
    }
}
