using LogWhisperer.Decode.Formats;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

public class TopologyDiscoveryTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public void TraceEdgesAreMergedAndAgeOut()
    {
        var graph = new ServiceGraphDiscovery(TimeSpan.FromMinutes(10));
        graph.Observe(new ServiceEdge("frontend", "cartservice", "shop"), Now);
        graph.Observe(
            new SpanRecord(
                Now.ToUnixTimeMilliseconds(),
                "c",
                "frontend",
                "t",
                "s",
                null,
                "GetCart",
                SpanKind.Client,
                "cartservice",
                2,
                false
            )
        );
        graph.Observe(
            new SpanRecord(
                Now.AddMinutes(5).ToUnixTimeMilliseconds(),
                "c",
                "cartservice",
                "t",
                "s2",
                null,
                "GET",
                SpanKind.Client,
                "redis-cart",
                1,
                false
            )
        );
        graph.Observe(
            new SpanRecord(
                Now.ToUnixTimeMilliseconds(),
                "c",
                "cartservice",
                "t",
                "s3",
                null,
                "GET",
                SpanKind.Server,
                null,
                1,
                false
            )
        ); // no edge

        Assert.Equal(
            [new ServiceEdge("cartservice", "redis-cart"), new ServiceEdge("frontend", "cartservice", "shop")],
            graph.Edges(Now.AddMinutes(6))
        );
        // frontend→cart not seen for 11 min
        Assert.Equal([new ServiceEdge("cartservice", "redis-cart")], graph.Edges(Now.AddMinutes(11)));
        Assert.Empty(graph.Edges(Now.AddMinutes(16)));
    }

    [Fact]
    public async Task ARealPrometheusAnswersTheServiceGraphQuery()
    {
        using var prometheus = await PrometheusServer.StartAsync(
            "global:\n  scrape_interval: 1m\n",
            "--web.enable-remote-write-receiver"
        );
        using var http = new HttpClient();
        var baseUrl = prometheus.BaseUrl;
        // Istio sidecars' request counters, as remote-write (our encoder writes the real format).
        var samples = new List<MetricSample>();
        foreach (
            var (src, dst, reporter, ns) in new[]
            {
                ("frontend", "cartservice", "source", "shop"),
                ("cartservice", "redis-cart", "source", "shop"),
                ("frontend", "cartservice", "destination", "shop"),
                ("loadgen", "frontend", "source", "edge"),
            }
        )
            for (int i = 0; i < 4; i++)
                samples.Add(
                    new MetricSample(
                        Now.AddSeconds(-90 + 30 * i).ToUnixTimeMilliseconds(),
                        "c",
                        src,
                        "istio_requests_total",
                        100 + 50 * i,
                        new Dictionary<string, string>
                        {
                            ["reporter"] = reporter,
                            ["source_workload"] = src,
                            ["source_workload_namespace"] = ns,
                            ["destination_workload"] = dst,
                            ["destination_workload_namespace"] = ns,
                        }
                    )
                );
        var body = new ByteArrayContent(TelemetryEncoder.RemoteWrite(samples));
        body.Headers.ContentType = new("application/x-protobuf");
        body.Headers.ContentEncoding.Add("snappy");
        body.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
        var written = await http.PostAsync(new Uri(baseUrl, "api/v1/write"), body);
        Assert.True(written.IsSuccessStatusCode, await written.Content.ReadAsStringAsync());

        var graph = new ServiceGraphDiscovery(TimeSpan.FromMinutes(10));
        var client = new PrometheusClient(http, baseUrl);
        Assert.Equal(3, await graph.RefreshFromPrometheusAsync(client, Now));
        Assert.Equal(
            [
                new ServiceEdge("cartservice", "redis-cart", "shop"),
                new ServiceEdge("frontend", "cartservice", "shop"),
                new ServiceEdge("loadgen", "frontend", "edge"),
            ],
            graph.Edges(Now)
        );

        // The range API (the pull source for metrics): 50 requests per 30 s is 1.67 per second.
        var range = await client.QueryRangeAsync(
            "rate(istio_requests_total{reporter=\"source\",source_workload=\"frontend\"}[1m])",
            Now.AddSeconds(-30),
            Now,
            TimeSpan.FromSeconds(15)
        );
        Assert.All(range.Single().Samples, s => Assert.Equal(50 / 30.0, s.Value, 3));

        var bad = await Assert.ThrowsAsync<InvalidDataException>(() => client.QueryAsync("sum(", Now));
        Assert.Contains("bad_data", bad.Message);
    }
}
