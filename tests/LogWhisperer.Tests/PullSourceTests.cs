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
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request.RequestUri!);
            var q = HttpUtility.ParseQueryString(request.RequestUri!.Query);
            var body = answer(long.Parse(q["start"]!), long.Parse(q["end"]!), int.Parse(q["limit"]!));
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        }
    }

    [Fact]
    public async Task LokiQueryRangeIsReadInStepsAndPages()
    {
        const long T0 = 1_767_225_600_000;
        // One entry every second from T0 for 90 s, served as Loki would: forward, at most `limit` per answer.
        var entries = Enumerable.Range(0, 90).Select(i => (Ns: (T0 + i * 1000L) * 1_000_000 + 7, Line: $"line {i}" + (i % 10 == 0 ? " ERROR" : ""))).ToList();
        var loki = new FakeLoki((start, end, limit) =>
        {
            var page = entries.Where(e => e.Ns >= start && e.Ns < end).Take(limit).ToList();
            var values = string.Join(",", page.Select(e => $"[\"{e.Ns}\",\"{e.Line}\"]"));
            return """{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"cartservice","namespace":"shop"},"values":[""" + values + """]}],"stats":{}}}""";
        });
        var source = new LokiPullSource(new HttpClient(loki), new Uri("http://loki:3100/"), "{namespace=\"shop\"}",
            new PullOptions { Start = DateTimeOffset.FromUnixTimeMilliseconds(T0), End = DateTimeOffset.FromUnixTimeMilliseconds(T0 + 90_000) },
            new DecodeOptions { DefaultCluster = "prod" }, limit: 20);

        var logs = new List<LogRecord>();
        await foreach (var batch in source.ReadAsync(CancellationToken.None)) logs.AddRange(batch.Cast<LogRecord>());

        Assert.Equal(entries.Select(e => e.Line), logs.Select(l => l.Message));       // all 90, in order, none twice
        Assert.Equal(T0 + 89_000, logs[^1].TimestampMs);
        Assert.All(logs, l => Assert.Equal(("prod", "cartservice"), (l.Cluster, l.Service)));
        Assert.Equal(9, logs.Count(l => l.Severity == LogSeverity.Error));
        Assert.Equal(6, loki.Requests.Count);                                          // 3 steps of 30 s, each a full page of 20 and a last of 10
        Assert.All(loki.Requests, u => Assert.Contains("direction=forward", u.Query));
    }
}
