using System.Diagnostics;
using System.Text.Json;

namespace LogWhisperer.Tests;

/// <summary>
/// A real Prometheus (the Debian package's /usr/bin/prometheus) on a free loopback port with its own
/// config and storage in a temp dir, ready to answer queries; killed on dispose.
/// </summary>
internal sealed class PrometheusServer : IDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public Uri BaseUrl { get; }
    public string Directory { get; }
    public bool HasExited => _process.HasExited;

    private PrometheusServer(string config, string extraArgs)
    {
        int port = TestData.FreePort();
        Directory = TestData.TempDir();
        File.WriteAllText(
            Path.Combine(Directory, "prometheus.yml"),
            config.Replace("PROMETHEUS_PORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture))
        );
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        _process = Process.Start(
            new ProcessStartInfo(
                "prometheus",
                $"--config.file={Directory}/prometheus.yml --storage.tsdb.path={Directory}/data "
                    + $"--web.listen-address=127.0.0.1:{port} {extraArgs}"
            )
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            }
        )!;
        _ = _process.StandardError.ReadToEndAsync();
        _ = _process.StandardOutput.ReadToEndAsync();
    }

    /// <summary>Starts Prometheus (PROMETHEUS_PORT in the config becomes its own port) and waits until /-/ready
    /// answers.</summary>
    public static async Task<PrometheusServer> StartAsync(string config, string extraArgs = "")
    {
        var server = new PrometheusServer(config, extraArgs);
        try
        {
            bool ready = await TestData.WaitUntilAsync(
                async () => server.HasExited || await server.IsReadyAsync(),
                TestData.Generous
            );
            Assert.False(server.HasExited, "prometheus exited at start (bad config?)");
            Assert.True(ready, $"prometheus did not become ready within {TestData.Generous.TotalMinutes} min");
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private async Task<bool> IsReadyAsync()
    {
        try
        {
            return (await _http.GetAsync(new Uri(BaseUrl, "-/ready"))).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>An instant query's vector: each series' labels and value.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        var body = await _http.GetStringAsync(new Uri(BaseUrl, "api/v1/query?query=" + Uri.EscapeDataString(promql)));
        using var doc = JsonDocument.Parse(body);
        var result = new List<(Dictionary<string, string>, double)>();
        foreach (var series in doc.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = series
                .GetProperty("metric")
                .EnumerateObject()
                .ToDictionary(p => p.Name, p => p.Value.GetString()!);
            result.Add(
                (
                    labels,
                    double.Parse(
                        series.GetProperty("value")[1].GetString()!,
                        System.Globalization.CultureInfo.InvariantCulture
                    )
                )
            );
        }
        return result;
    }

    /// <summary>Polls a query until it returns a series (or the timeout passes); the series found, or none.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> WaitForAsync(
        string promql,
        TimeSpan timeout
    )
    {
        var result = new List<(Dictionary<string, string> Labels, double Value)>();
        await TestData.WaitUntilAsync(async () => (result = await QueryAsync(promql)).Count > 0 || HasExited, timeout);
        return result;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill();
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _http.Dispose();
    }
}
