using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Confluent.Kafka;
using LogWhisperer.Cli.Gateway;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Kafka;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

public class GatewayTests(MockClusterFixture fixture) : IClassFixture<MockClusterFixture>, IAsyncLifetime
{
    private IngestGateway _gateway = null!;
    private readonly HttpClient _http = new();
    private GatewayOptions _options = null!;
    private string Url => _gateway.Urls.First();

    public async Task InitializeAsync()
    {
        _options = new GatewayOptions
        {
            Kafka = new KafkaSettings { BootstrapServers = fixture.Cluster.BootstrapServers },
            Http = new HttpSecurityOptions
            {
                Listen = "127.0.0.1:0",
                BearerToken = "s3cret",
                MaxRequestBytes = 64 * 1024,
            },
            LokiProtoTopic = "gw_loki",
            RemoteWriteTopic = "gw_rw",
            OtlpProtoTopic = "gw_spans",
            OtlpJsonTopic = "gw_spans_json",
            OtlpMetricsJsonTopic = "gw_metrics_json",
            LokiJsonTopic = "gw_loki_json",
        };
        _gateway = new IngestGateway(_options);
        await _gateway.StartAsync();
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
    }

    private static ByteArrayContent Body(byte[] bytes, string type)
    {
        var c = new ByteArrayContent(bytes);
        c.Headers.ContentType = new MediaTypeHeaderValue(type);
        return c;
    }

    private List<byte[]> Read(string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(
            new ConsumerConfig
            {
                BootstrapServers = fixture.Cluster.BootstrapServers,
                GroupId = "read-" + Guid.NewGuid(),
                AutoOffsetReset = AutoOffsetReset.Earliest,
            }
        ).Build();
        consumer.Subscribe(topic);
        var values = new List<byte[]>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (values.Count < expected && DateTime.UtcNow < deadline)
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r)
                values.Add(r.Message.Value);
        return values;
    }

    [Fact]
    public async Task PushesAreCheckedThenWrittenUnchangedToTheirTopics()
    {
        var spans = TelemetryEncoder.OtlpTraces([
            new SpanRecord(
                1_767_225_600_000,
                "c",
                "frontend",
                "5b8efff798038103d269b633813fc60c",
                "eee19b7ec3c1b174",
                null,
                "GET /",
                SpanKind.Server,
                null,
                3,
                false
            ),
        ]);
        var response = await _http.PostAsync(Url + "/v1/traces", Body(spans, "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var logs = TelemetryEncoder.LokiPush([
            new LogRecord(1_767_225_600_000, "c", "cart", LogSeverity.Error, "boom"),
        ]);
        response = await _http.PostAsync(Url + "/loki/api/v1/push", Body(logs, "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        Assert.Equal(spans, Read("gw_spans", 1).Single());
        Assert.Equal(logs, Read("gw_loki", 1).Single());
        Assert.Equal(2, _gateway.Accepted);
    }

    [Fact]
    public async Task OtlpMetricsArePushedOverHttpToo()
    {
        var metrics = Encoding.UTF8.GetBytes(
            """{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeMetrics":[{"metrics":[{"name":"up","gauge":{"dataPoints":[{"timeUnixNano":"1767225600000000000","asDouble":1}]}}]}]}]}"""
        );
        var response = await _http.PostAsync(Url + "/v1/metrics", Body(metrics, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(metrics, Read("gw_metrics_json", 1).Single());

        var bad = await _http.PostAsync(
            Url + "/v1/metrics",
            Body(
                Encoding.UTF8.GetBytes("""{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{}}]}]}]}"""),
                "application/json"
            )
        );
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("without a name", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task BadRequestsGetClearErrors()
    {
        var bad = await _http.PostAsync(Url + "/api/v1/write", Body([1, 2, 3], "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("snappy", await bad.Content.ReadAsStringAsync());

        var badJson = await _http.PostAsync(
            Url + "/loki/api/v1/push",
            Body(Encoding.UTF8.GetBytes("{\"streams\":"), "application/json")
        );
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);

        var tooBig = await _http.PostAsync(
            Url + "/loki/api/v1/push",
            Body(new byte[128 * 1024], "application/x-protobuf")
        );
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);

        using var anonymous = new HttpClient();
        var unauthorised = await anonymous.PostAsync(
            Url + "/api/v1/write",
            Body(TelemetryEncoder.RemoteWrite([]), "application/x-protobuf")
        );
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorised.StatusCode);
        Assert.Equal(0, _gateway.Accepted);
        Assert.Equal(4, _gateway.Rejected);
    }

    [Fact]
    public async Task AMissingContentTypeIsSniffedAndAWrongOneIsNamed()
    {
        long ns = 1_767_225_600_000L * 1_000_000;
        var json = Encoding.UTF8.GetBytes(
            $$"""{"streams":[{"stream":{"service_name":"cart","cluster":"c"},"values":[["{{ns}}","boom"]]}]}"""
        );
        // No Content-Type (curl --data-binary without -H): JSON is recognised as JSON (before: "unsupported wire
        // type").
        var sniffed = await _http.PostAsync(Url + "/loki/api/v1/push", new ByteArrayContent(json));
        Assert.Equal(HttpStatusCode.NoContent, sniffed.StatusCode);
        Assert.Equal(json, Read("gw_loki_json", 1).Single());

        // JSON to an endpoint that only takes protobuf: which types it accepts (before: "snappy: corrupt block").
        var remoteWrite = await _http.PostAsync(Url + "/api/v1/write", new ByteArrayContent(json));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, remoteWrite.StatusCode);
        Assert.Contains("/api/v1/write accepts application/x-protobuf", await remoteWrite.Content.ReadAsStringAsync());

        var wrongType = await _http.PostAsync(Url + "/v1/traces", Body(json, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        Assert.Contains(
            "unsupported Content-Type 'text/plain': /v1/traces accepts application/x-protobuf or application/json",
            await wrongType.Content.ReadAsStringAsync()
        );
        Assert.Equal(2, _gateway.Metrics.Rejections("unsupported_media_type"));
    }

    [Fact]
    public async Task CompressionBombsAreDecodedAFewAtATimeAndRefused()
    {
        await using var gateway = new IngestGateway(
            new GatewayOptions
            {
                Kafka = new KafkaSettings { BootstrapServers = fixture.Cluster.BootstrapServers },
                Http = new HttpSecurityOptions
                {
                    Listen = "127.0.0.1:0",
                    MaxDecodedBytes = 4 << 20,
                    RateLimitPerSecond = 0,
                },
                MaxConcurrentBodies = 2,
            }
        );
        await gateway.StartAsync();
        var bomb = LogWhisperer.Decode.Fuzzing.FuzzSeeds.Gzip(new byte[32 << 20]); // 32 MiB of zeros in ~32 KiB
        using var http = new HttpClient();
        var answers = await Task.WhenAll(
            Enumerable
                .Range(0, 12)
                .Select(async _ =>
                {
                    var content = Body(bomb, "application/json");
                    content.Headers.ContentEncoding.Add("gzip");
                    var response = await http.PostAsync(gateway.Urls.First() + "/loki/api/v1/push", content);
                    return (response.StatusCode, Text: await response.Content.ReadAsStringAsync());
                })
        );
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.RequestEntityTooLarge, a.StatusCode));
        Assert.All(answers, a => Assert.Contains($"decodes to more than the {4 << 20} bytes allowed", a.Text));
        Assert.InRange(gateway.PeakBodiesInFlight, 1, 2); // the other ten waited their turn
        Assert.Equal(0, gateway.BodiesInFlight);
    }

    [Fact]
    public async Task ARealPrometheusRemoteWritesIntoTheGateway()
    {
        var gateway = new Uri(Url);
        // Prometheus scrapes itself (PROMETHEUS_PORT is its own port, filled in by the helper) and remote-writes into
        // the gateway.
        using (
            var prometheus = await PrometheusServer.StartAsync(
                $"""
                global:
                  scrape_interval: 1s
                scrape_configs:
                  - job_name: prometheus
                    static_configs: [{"{"}targets: ['127.0.0.1:PROMETHEUS_PORT']{"}"}]
                remote_write:
                  - url: http://127.0.0.1:{gateway.Port}/api/v1/write
                    authorization: {"{"}credentials: s3cret{"}"}
                    queue_config: {"{"}batch_send_deadline: 1s, min_backoff: 100ms{"}"}
                """
            )
        )
        {
            await TestData.WaitUntilAsync(() => _gateway.Accepted > 0 || prometheus.HasExited, TestData.Generous);
            Assert.True(_gateway.Accepted > 0, "Prometheus never remote-wrote into the gateway");
        }

        var samples = new List<TelemetryRecord>();
        foreach (var message in Read("gw_rw", (int)_gateway.Accepted))
            new RemoteWriteDecoder(new DecodeOptions()).Decode(message, samples);
        var up = samples.Cast<MetricSample>().Where(s => s.Name == "up").ToList();
        Assert.NotEmpty(up);
        Assert.All(
            up,
            s =>
            {
                Assert.Equal("prometheus", s.Service);
                Assert.Equal(1.0, s.Value);
            }
        );
        Assert.Contains(
            samples.Cast<MetricSample>(),
            s => s.Name == "prometheus_build_info" && s.Labels!["version"].StartsWith("2.")
        );
    }
}
