using System.Net;
using System.Text;
using System.Web;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

/// <summary>
/// Loki cannot run here (no Debian or NuGet package), so its HTTP API is played by a handler answering as
/// Loki's documented query_range does (the JSON below follows the API reference); Prometheus pull is tested
/// against a real Prometheus in TopologyDiscoveryTests.
/// </summary>
public class PullSourceTests
{
    private sealed class FakeLoki(Func<long, long, int, string> answer) : HttpMessageHandler
    {
        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(
            HttpRequestMessage request,
            CancellationToken cancellationToken
        )
        {
            Requests.Add(request.RequestUri!);
            var q = HttpUtility.ParseQueryString(request.RequestUri!.Query);
            var body = answer(long.Parse(q["start"]!), long.Parse(q["end"]!), int.Parse(q["limit"]!));
            return Task.FromResult(
                new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/json"),
                }
            );
        }
    }

    [Fact]
    public async Task LokiQueryRangeIsReadInStepsAndPages()
    {
        const long T0 = 1_767_225_600_000;
        // One entry every second from T0 for 90 s, served as Loki would: forward, at most `limit` per answer.
        var entries = Enumerable
            .Range(0, 90)
            .Select(i => (Ns: (T0 + i * 1000L) * 1_000_000 + 7, Line: $"line {i}" + (i % 10 == 0 ? " ERROR" : "")))
            .ToList();
        var loki = new FakeLoki(
            (start, end, limit) =>
            {
                var page = entries.Where(e => e.Ns >= start && e.Ns < end).Take(limit).ToList();
                var values = string.Join(",", page.Select(e => $"[\"{e.Ns}\",\"{e.Line}\"]"));
                return """{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"cartservice","namespace":"shop"},"values":["""
                    + values
                    + """]}],"stats":{}}}""";
            }
        );
        var source = new LokiPullSource(
            new HttpClient(loki),
            new Uri("http://loki:3100/"),
            "{namespace=\"shop\"}",
            new PullOptions
            {
                Start = DateTimeOffset.FromUnixTimeMilliseconds(T0),
                End = DateTimeOffset.FromUnixTimeMilliseconds(T0 + 90_000),
            },
            new DecodeOptions { DefaultCluster = "prod" },
            limit: 20
        );

        var logs = new List<LogRecord>();
        await foreach (var batch in source.ReadAsync(CancellationToken.None))
            logs.AddRange(batch.Cast<LogRecord>());

        Assert.Equal(entries.Select(e => e.Line), logs.Select(l => l.Message)); // all 90, in order, none twice
        Assert.Equal(T0 + 89_000, logs[^1].TimestampMs);
        Assert.All(logs, l => Assert.Equal(("prod", "cartservice"), (l.Cluster, l.Service)));
        Assert.Equal(9, logs.Count(l => l.Severity == LogSeverity.Error));
        Assert.Equal(6, loki.Requests.Count); // 3 steps of 30 s, each a full page of 20 and a last of 10
        Assert.All(loki.Requests, u => Assert.Contains("direction=forward", u.Query));
    }

    private sealed class FlakyLoki(int failures) : HttpMessageHandler
    {
        public int Requests;

        protected override Task<HttpResponseMessage> SendAsync(
            HttpRequestMessage request,
            CancellationToken cancellationToken
        )
        {
            if (Interlocked.Increment(ref Requests) <= failures)
                return Task.FromResult(
                    new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
                    {
                        Content = new StringContent("too many outstanding requests"),
                    }
                );
            var ns = 1_767_225_600_000_000_000 + 5_000_000_000L;
            return Task.FromResult(
                new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent(
                        """{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"cart"},"values":[["NS","boom"]]}]}}""".Replace(
                            "NS",
                            ns.ToString()
                        ),
                        Encoding.UTF8,
                        "application/json"
                    ),
                }
            );
        }
    }

    [Theory]
    [InlineData(2, 1, null)] // two 503s, then the answer: retried, nothing lost
    // down for good: fails after the retries, with the error
    [InlineData(9, 0, "loki: HTTP 503: too many outstanding requests")]
    public async Task TransientLokiFailuresAreRetriedAndLastingOnesReported(
        int failures,
        int expectedLogs,
        string? expectedError
    )
    {
        const long T0 = 1_767_225_600_000;
        var loki = new FlakyLoki(failures);
        var source = new LokiPullSource(
            new HttpClient(loki),
            new Uri("http://loki:3100/"),
            "{app=\"cart\"}",
            new PullOptions
            {
                Start = DateTimeOffset.FromUnixTimeMilliseconds(T0),
                End = DateTimeOffset.FromUnixTimeMilliseconds(T0 + 30_000),
                Retries = 3,
                RetryBackoff = TimeSpan.FromMilliseconds(5),
            },
            new DecodeOptions()
        );
        var logs = new List<TelemetryRecord>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var read = async () =>
        {
            await foreach (var batch in source.ReadAsync(timeout.Token))
                logs.AddRange(batch);
        };
        if (expectedError is null)
            await read();
        else
            Assert.Equal(expectedError, (await Assert.ThrowsAsync<HttpRequestException>(read)).Message);
        Assert.Equal(expectedLogs, logs.Count);
        Assert.Equal(expectedError is null ? failures + 1 : 4, loki.Requests); // 1 attempt + 3 retries at most
    }
}
