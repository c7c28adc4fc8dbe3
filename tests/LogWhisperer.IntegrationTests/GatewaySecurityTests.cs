using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confluent.Kafka;
using LogWhisperer.Cli.Gateway;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Decode.Fuzzing;
using LogWhisperer.Kafka;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

/// <summary>The gateway's exposure: loopback by default, bearer auth, TLS, body and decompressed-size limits,
/// per-client rate limits.</summary>
public class GatewaySecurityTests(MockClusterFixture fixture) : IClassFixture<MockClusterFixture>
{
    private static readonly byte[] Logs = TelemetryEncoder.LokiPush([
        new LogRecord(1_767_225_600_000, "c", "cart", LogSeverity.Error, "boom"),
    ]);

    private async Task<IngestGateway> Start(HttpSecurityOptions http, string topic = "sec_loki")
    {
        var gateway = new IngestGateway(
            new GatewayOptions
            {
                Kafka = new KafkaSettings { BootstrapServers = fixture.Cluster.BootstrapServers },
                Http = http,
                LokiProtoTopic = topic,
                LokiJsonTopic = topic + "_json",
            }
        );
        await gateway.StartAsync();
        return gateway;
    }

    private static ByteArrayContent Body(byte[] bytes, string type = "application/x-protobuf", string? encoding = null)
    {
        var c = new ByteArrayContent(bytes);
        c.Headers.ContentType = new MediaTypeHeaderValue(type);
        if (encoding is not null)
            c.Headers.ContentEncoding.Add(encoding);
        return c;
    }

    [Fact]
    public async Task ListensOnLoopbackUnlessToldOtherwise()
    {
        Assert.True(IPAddress.IsLoopback(HttpSecurity.ParseListen(new HttpSecurityOptions().Listen).Address));
        Assert.Equal((IPAddress.Any, 3100), HttpSecurity.ParseListen("0.0.0.0:3100"));
        Assert.Equal((IPAddress.IPv6Loopback, 9), HttpSecurity.ParseListen("[::1]:9"));
        Assert.Throws<ArgumentException>(() => HttpSecurity.ParseListen("example.com:80"));
        await using var gateway = await Start(new HttpSecurityOptions { Listen = "127.0.0.1:0" });
        var url = new Uri(gateway.Urls.Single());
        Assert.Equal("127.0.0.1", url.Host);
        Assert.NotEqual(0, url.Port);
    }

    [Fact]
    public void BearerTokensAreComparedExactly()
    {
        Assert.True(HttpSecurity.TokenMatches("Bearer s3cret", "s3cret"));
        Assert.True(HttpSecurity.TokenMatches("bearer s3cret ", "s3cret"));
        Assert.False(HttpSecurity.TokenMatches("Bearer s3cre", "s3cret"));
        Assert.False(HttpSecurity.TokenMatches("Bearer s3cret2", "s3cret"));
        Assert.False(HttpSecurity.TokenMatches("Basic s3cret", "s3cret"));
        Assert.False(HttpSecurity.TokenMatches(null, "s3cret"));
        Assert.False(HttpSecurity.TokenMatches("", "s3cret"));
    }

    [Fact]
    public async Task UnauthenticatedRequestsAreRefused()
    {
        await using var gateway = await Start(
            new HttpSecurityOptions { Listen = "127.0.0.1:0", BearerToken = "s3cret" }
        );
        var url = gateway.Urls.Single() + "/loki/api/v1/push";
        using var http = new HttpClient();
        foreach (var header in new[] { null, "Bearer wrong", "Basic czNjcmV0", "Bearer " })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = Body(Logs) };
            if (header is not null)
                request.Headers.TryAddWithoutValidation("Authorization", header);
            var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
        using var ok = new HttpRequestMessage(HttpMethod.Post, url) { Content = Body(Logs) };
        ok.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        Assert.Equal(HttpStatusCode.NoContent, (await http.SendAsync(ok)).StatusCode);
        Assert.Equal(4, gateway.Security.Unauthorized);
        Assert.Equal(1, gateway.Accepted);
    }

    [Fact]
    public async Task ServesTlsWithAPemCertificate()
    {
        var dir = TestData.TempDir();
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(
            DateTimeOffset.UtcNow.AddMinutes(-5),
            DateTimeOffset.UtcNow.AddDays(1)
        );
        File.WriteAllText(Path.Combine(dir, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "key.pem"), key.ExportPkcs8PrivateKeyPem());

        await using var gateway = await Start(
            new HttpSecurityOptions
            {
                Listen = "127.0.0.1:0",
                TlsCertificatePath = Path.Combine(dir, "cert.pem"),
                TlsKeyPath = Path.Combine(dir, "key.pem"),
            }
        );
        var url = new Uri(gateway.Urls.Single());
        Assert.Equal("https", url.Scheme);
        string? seen = null;
        using var handler = new HttpClientHandler
        {
            // Trust exactly this self-signed certificate, as a client pinning it would.
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
                (seen = cert?.Thumbprint) == certificate.Thumbprint,
        };
        using var https = new HttpClient(handler);
        var response = await https.PostAsync(new Uri(url, "/loki/api/v1/push"), Body(Logs));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(certificate.Thumbprint, seen);

        using var plain = new HttpClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() =>
            plain.PostAsync($"http://127.0.0.1:{url.Port}/loki/api/v1/push", Body(Logs))
        );
    }

    [Fact]
    public async Task OversizedAndBombBodiesGet413()
    {
        await using var gateway = await Start(
            new HttpSecurityOptions
            {
                Listen = "127.0.0.1:0",
                MaxRequestBytes = 256 * 1024,
                MaxDecodedBytes = 1 << 20,
            },
            "sec_bomb"
        );
        var url = gateway.Urls.Single() + "/loki/api/v1/push";
        using var http = new HttpClient();

        Assert.Equal(
            HttpStatusCode.RequestEntityTooLarge,
            (await http.PostAsync(url, Body(new byte[300 * 1024]))).StatusCode
        );
        // 64 MiB of zeros, gzip'd into a body well under the request limit.
        var gzipBomb = FuzzSeeds.Gzip(new byte[64 << 20]);
        Assert.True(gzipBomb.Length < 256 * 1024);
        var response = await http.PostAsync(url, Body(gzipBomb, "application/json", "gzip"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("allowed", await response.Content.ReadAsStringAsync());
        // The format's own snappy layer declaring 8 MiB.
        var snappyBomb = SnappyBlock.Compress(new byte[8 << 20]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.PostAsync(url, Body(snappyBomb))).StatusCode);
        Assert.Equal(3, gateway.Rejected);

        // An honest gzip'd push is accepted and reaches Kafka decompressed.
        var json = Export.LokiPushEncoder.Encode(
            [new LogRecord(1_767_225_600_000, "c", "cart", LogSeverity.Error, "boom")],
            "shop"
        )!;
        Assert.Equal(
            HttpStatusCode.NoContent,
            (await http.PostAsync(url, Body(FuzzSeeds.Gzip(json), "application/json", "gzip"))).StatusCode
        );
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(
            new ConsumerConfig
            {
                BootstrapServers = fixture.Cluster.BootstrapServers,
                GroupId = "sec-" + Guid.NewGuid(),
                AutoOffsetReset = AutoOffsetReset.Earliest,
            }
        ).Build();
        consumer.Subscribe("sec_bomb_json");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        ConsumeResult<Ignore, byte[]>? message = null;
        while (message is null && DateTime.UtcNow < deadline)
            message = consumer.Consume(TimeSpan.FromMilliseconds(200));
        Assert.Equal(json, message?.Message.Value);
    }

    [Fact]
    public async Task EachClientIsRateLimitedWithRetryAfter()
    {
        await using var gateway = await Start(
            new HttpSecurityOptions
            {
                Listen = "127.0.0.1:0",
                RateLimitPerSecond = 1,
                RateLimitBurst = 2,
            }
        );
        var url = gateway.Urls.Single() + "/loki/api/v1/push";
        using var http = new HttpClient();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        // quickly, well within the seconds it would take to refill the bucket even on a loaded machine
        for (int i = 0; i < 20; i++)
        {
            var response = await http.PostAsync(url, Body([1, 2, 3]));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                limited ??= response;
        }
        // The burst of 2 is served (bad payloads here: 400), the rest are refused before any work is done.
        Assert.Equal(HttpStatusCode.BadRequest, statuses[0]);
        Assert.Equal(HttpStatusCode.BadRequest, statuses[1]);
        Assert.True(statuses.Count(s => s == HttpStatusCode.TooManyRequests) >= 10, string.Join(", ", statuses));
        Assert.NotNull(limited);
        Assert.True(int.Parse(limited!.Headers.GetValues("Retry-After").Single()) >= 1);
        Assert.True(gateway.Security.RateLimited >= 1);
    }
}
