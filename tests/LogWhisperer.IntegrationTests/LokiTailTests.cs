using System.Net.WebSockets;
using System.Text;
using System.Web;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Pipeline;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace LogWhisperer.Tests;

/// <summary> Loki cannot be installed here, so its tail endpoint is played by a stand-in: a Kestrel WebSocket server on
/// a free port speaking Loki's documented tail protocol (GET /loki/api/v1/tail?query&amp;start&amp;limit&amp;delay_for,
/// text messages {"streams":[…],"dropped_entries":[…]}). It serves entries after the requested start, drops the
/// connection mid-stream once to make the source reconnect, and reports dropped entries.
/// </summary>
public sealed class LokiTailTests : IAsyncDisposable
{
    private const long T0Ns = 1_767_225_600_000_000_000;
    private readonly WebApplication _loki;
    private readonly List<string> _requests = [];
    private int _connections;

    public LokiTailTests()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _loki = builder.Build();
        _loki.UseWebSockets();
        _loki.Map("/loki/api/v1/tail", Tail);
        _loki.StartAsync().GetAwaiter().GetResult();
    }

    public async ValueTask DisposeAsync() => await _loki.DisposeAsync();

    private static long EntryNs(int i) => T0Ns + i * 1_000_000_000L + 123;

    private async Task Tail(HttpContext ctx)
    {
        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            ctx.Response.StatusCode = 400;
            return;
        }
        lock (_requests)
            _requests.Add(ctx.Request.QueryString.Value!);
        int connection = Interlocked.Increment(ref _connections);
        var q = HttpUtility.ParseQueryString(ctx.Request.QueryString.Value!);
        long start = long.Parse(q["start"]!);
        using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
        // Entries 0..59, one per second, in messages of 5. The first connection is closed by the server after 3
        // messages; the second breaks without a close frame after 4 (what was in flight may be lost with it).
        var pending = Enumerable.Range(0, 60).Where(i => EntryNs(i) >= start).Chunk(5).ToList();
        for (int m = 0; m < pending.Count; m++)
        {
            if (connection == 1 && m == 3)
            {
                await socket.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "restarting", default);
                return;
            }
            if (connection == 2 && m == 4)
            {
                ctx.Abort();
                return;
            }
            var values = string.Join(
                ",",
                pending[m].Select(i => $"[\"{EntryNs(i)}\",\"GET /cart {(i % 6 == 0 ? 500 : 200)} line {i}\"]")
            );
            string dropped =
                m == 1 && connection == 1
                    ? ""","dropped_entries":[{"labels":{"app":"cartservice"},"timestamp":"1"},{"labels":{"app":"cartservice"},"timestamp":"2"}]"""
                    : "";
            var json =
                "{\"streams\":[{\"stream\":{\"app\":\"cartservice\",\"cluster\":\"prod\"},\"values\":["
                + values
                + "]}]"
                + dropped
                + "}";
            if (m == 2 && connection == 1)
                await socket.SendAsync(
                    Encoding.UTF8.GetBytes("{\"streams\":[{\"values\":[[\"x\"]]}]}"),
                    WebSocketMessageType.Text,
                    true,
                    default
                ); // not a tail message
            await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, default);
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", default);
    }

    [Fact]
    public async Task TailFollowsReconnectsAfterTheLastEntryAndCountsDrops()
    {
        var url = new Uri(_loki.Urls.First() + "/");
        var deadLetters = new MemoryDeadLetterSink();
        var source = new LokiTailSource(
            url,
            "{app=\"cartservice\"}",
            new DecodeOptions(),
            new LokiTailOptions
            {
                Start = DateTimeOffset.FromUnixTimeMilliseconds(T0Ns / 1_000_000),
                MinBackoff = TimeSpan.FromMilliseconds(50),
            },
            deadLetters
        );
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var logs = new List<LogRecord>();
        await foreach (var batch in source.ReadAsync(timeout.Token))
        {
            logs.AddRange(batch.Cast<LogRecord>());
            if (logs.Count >= 60)
                break;
        }

        // Every entry once, in order, although the first connection broke after 15 entries.
        Assert.Equal(
            Enumerable.Range(0, 60).Select(i => $"line {i}"),
            logs.Select(l => l.Message[(l.Message.IndexOf("line", StringComparison.Ordinal))..])
        );
        Assert.All(logs, l => Assert.Equal(("prod", "cartservice"), (l.Cluster, l.Service)));
        Assert.Equal(EntryNs(59) / 1_000_000, logs[^1].TimestampMs);
        Assert.True(source.Reconnects >= 2, $"{source.Reconnects} reconnects");
        lock (_requests)
        {
            Assert.Contains("limit=1000", _requests[0]);
            // resumed just after the newest entry seen
            Assert.Equal((EntryNs(14) + 1).ToString(), HttpUtility.ParseQueryString(_requests[1])["start"]);
        }
        Assert.Equal(2, source.DroppedEntries);
        Assert.Equal(1, source.Undecodable);
        Assert.Contains("loki tail", Assert.Single(deadLetters.Letters).Reason);
    }

    [Fact]
    public async Task TailBacksOffWhileLokiIsUnreachable()
    {
        // A port nothing listens on: every connection is refused, and the source keeps trying until cancelled.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var source = new LokiTailSource(
            new Uri($"http://127.0.0.1:{port}/"),
            "{app=\"x\"}",
            new DecodeOptions(),
            new LokiTailOptions
            {
                MinBackoff = TimeSpan.FromMilliseconds(10),
                MaxBackoff = TimeSpan.FromMilliseconds(40),
            }
        );
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        int batches = 0;
        await foreach (var _ in source.ReadAsync(stop.Token))
            batches++;
        Assert.Equal(0, batches);
        Assert.True(source.Reconnects >= 3, $"only {source.Reconnects} attempts");
    }
}
