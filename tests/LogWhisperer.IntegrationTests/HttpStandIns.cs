using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Tests;

/// <summary>
/// Stand-in for SaaS endpoints that cannot run here (Slack, Opsgenie, arbitrary webhooks): a real HTTP server
/// (Kestrel, port 0) that records every request and answers with the status <see cref="Respond"/> picks.
/// </summary>
internal sealed class CapturingHttpServer : IAsyncDisposable
{
    public sealed record Request(
        string Method,
        string PathAndQuery,
        IReadOnlyDictionary<string, string> Headers,
        string Body
    )
    {
        public JsonNode Json => JsonNode.Parse(Body)!;

        /// <summary>The body's bytes as sent (protobuf bodies are not text).</summary>
        public byte[] Raw { get; init; } = [];
    }

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Request> _requests = new();

    /// <summary>Status for the n-th request (0-based) received.</summary>
    public Func<int, int> Respond { get; set; } = _ => 200;

    /// <summary>Retry-After (seconds) for the n-th request, or null for none.</summary>
    public Func<int, int?> RetryAfter { get; set; } = _ => null;

    /// <summary>When each request arrived (wall clock), in order.</summary>
    public IReadOnlyList<DateTime> ReceivedAt => _received.ToArray();
    private readonly ConcurrentQueue<DateTime> _received = new();
    public IReadOnlyList<Request> Requests => _requests.ToArray();
    public Uri Url { get; private set; } = null!;

    private CapturingHttpServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(async ctx =>
        {
            using var buffer = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(buffer);
            var raw = buffer.ToArray();
            var body = System.Text.Encoding.UTF8.GetString(raw);
            int n;
            lock (_requests)
            {
                n = _requests.Count;
                _received.Enqueue(DateTime.UtcNow);
                _requests.Enqueue(
                    new Request(
                        ctx.Request.Method,
                        ctx.Request.Path + ctx.Request.QueryString,
                        ctx.Request.Headers.ToDictionary(
                            h => h.Key,
                            h => h.Value.ToString(),
                            StringComparer.OrdinalIgnoreCase
                        ),
                        body
                    )
                    {
                        Raw = raw,
                    }
                );
            }
            ctx.Response.StatusCode = Respond(n);
            if (RetryAfter(n) is { } seconds)
                ctx.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
    }

    public static async Task<CapturingHttpServer> StartAsync()
    {
        var server = new CapturingHttpServer();
        await server._app.StartAsync();
        server.Url = new Uri(server._app.Urls.Single() + "/");
        return server;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>A real Prometheus Alertmanager (Debian package prometheus-alertmanager) on a free port, gossip off, state
/// in a temp dir.</summary>
public sealed class AlertmanagerProcess : IDisposable
{
    public const string Binary = "/usr/bin/prometheus-alertmanager";
    private readonly Process _process;
    private readonly string _dir = TestData.TempDir();

    public Uri Url { get; }

    public AlertmanagerProcess()
    {
        File.WriteAllText(
            Path.Combine(_dir, "alertmanager.yml"),
            """
            route:
              receiver: blackhole
            receivers:
              - name: blackhole
            """
        );
        int port = TestData.FreePort();
        Url = new Uri($"http://127.0.0.1:{port}/");
        var psi = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "--config.file=" + Path.Combine(_dir, "alertmanager.yml"),
                "--storage.path=" + _dir,
                $"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            },
        };
        _process = Process.Start(psi) ?? throw new InvalidOperationException("alertmanager did not start");
        var log = new ConcurrentQueue<string>();
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                log.Enqueue(e.Data);
        };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                log.Enqueue(e.Data);
        };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        bool Ready()
        {
            try
            {
                return http.GetAsync(new Uri(Url, "-/ready")).Result.IsSuccessStatusCode;
            }
            catch (AggregateException)
            {
                return false;
            }
        }
        if (TestData.WaitUntil(() => _process.HasExited || Ready(), TestData.Generous) && !_process.HasExited)
            return;
        Dispose();
        throw new InvalidOperationException("alertmanager did not become ready:\n" + string.Join("\n", log));
    }

    /// <summary>The active alerts whose labels match the given equality filters.</summary>
    public async Task<JsonArray> ActiveAlertsAsync(params (string Label, string Value)[] filters)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var query = string.Join("&", filters.Select(f => "filter=" + Uri.EscapeDataString($"{f.Label}=\"{f.Value}\"")));
        return JsonNode.Parse(await http.GetStringAsync(new Uri(Url, "api/v2/alerts?" + query)))!.AsArray();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException) { }
    }
}
