using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;

namespace LogWhisperer.Tests;

public class WindowingTests
{
    private const long T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    private static LogRecord Log(long offsetMs, string service = "a", string cluster = "c") =>
        new(T0 + offsetMs, cluster, service, LogSeverity.Info, "hello 42");

    private static (EventTimeWindower Windower, PipelineCounters Counters, MemoryDeadLetterSink Dlq) Create(
        WindowOptions options
    )
    {
        var counters = new PipelineCounters();
        var dlq = new MemoryDeadLetterSink();
        return (new EventTimeWindower(options, counters, dlq), counters, dlq);
    }

    [Fact]
    public void TumblingWindowsCloseOnlyWhenTheWatermarkPassesEndPlusLateness()
    {
        var (w, _, _) = Create(
            new WindowOptions
            {
                SizeMs = 10_000,
                HopMs = 10_000,
                MaxOutOfOrdernessMs = 2_000,
                AllowedLatenessMs = 1_000,
            }
        );
        var closed = new List<WindowAggregate>();
        w.Add([Log(1_000), Log(9_999)], closed);
        Assert.Empty(closed);
        w.Add([Log(12_999)], closed); // watermark 10_999 < 11_000
        Assert.Empty(closed);
        w.Add([Log(13_000)], closed); // watermark 11_000 = end + lateness
        var window = Assert.Single(closed);
        Assert.Equal(T0, window.StartMs);
        Assert.Equal(2, window.Records);
        Assert.Equal(2, window.Services["a"].Logs);
    }

    [Fact]
    public void LateRecordsWithinLatenessAreKeptAndLaterOnesAreCountedAndDeadLettered()
    {
        var (w, counters, dlq) = Create(
            new WindowOptions
            {
                SizeMs = 10_000,
                HopMs = 10_000,
                MaxOutOfOrdernessMs = 1_000,
                AllowedLatenessMs = 3_000,
            }
        );
        var closed = new List<WindowAggregate>();
        w.Add([Log(1_000), Log(12_000)], closed);
        w.Add([Log(5_000)], closed); // behind the watermark (11_000) but its window is still open
        Assert.Equal(1, counters.LateAccepted);
        w.Add([Log(15_000)], closed); // watermark 14_000: first window emitted with 2 records
        Assert.Equal(2, Assert.Single(closed).Records);
        w.Add([Log(9_000)], closed); // too late
        Assert.Equal(1, counters.LateDropped);
        var letter = Assert.Single(dlq.Letters);
        Assert.Equal(
            (DeadLetterCode.Late, "window ending 1767225610000 already emitted"),
            (letter.Code, letter.Reason)
        );
        Assert.Equal(T0 + 9_000, letter.TimestampMs);
        w.Flush(closed);
        Assert.Equal([T0, T0 + 10_000], closed.Select(c => c.StartMs).ToArray());
        Assert.Equal(2, closed[1].Records); // 12_000 and 15_000; the dropped record is in no window
    }

    [Fact]
    public void HoppingWindowsPutEachRecordInEveryWindowThatCoversIt()
    {
        var (w, _, _) = Create(
            new WindowOptions
            {
                SizeMs = 20_000,
                HopMs = 10_000,
                MaxOutOfOrdernessMs = 0,
                AllowedLatenessMs = 0,
            }
        );
        var closed = new List<WindowAggregate>();
        w.Add([Log(15_000)], closed);
        w.Flush(closed);
        Assert.Equal([T0, T0 + 10_000], closed.Select(c => c.StartMs).Order().ToArray());
        Assert.All(closed, c => Assert.Equal(1, c.Records));
    }

    [Fact]
    public void ClustersHaveIndependentWatermarks()
    {
        var (w, counters, _) = Create(
            new WindowOptions
            {
                SizeMs = 10_000,
                HopMs = 10_000,
                MaxOutOfOrdernessMs = 0,
                AllowedLatenessMs = 0,
            }
        );
        var closed = new List<WindowAggregate>();
        w.Add([Log(60_000, cluster: "fast"), Log(1_000, cluster: "slow")], closed);
        Assert.Equal(0, counters.LateDropped);
        Assert.DoesNotContain(closed, c => c.Cluster == "slow");
    }

    [Fact]
    public void SpanAssemblySeparatesSelfTimeAndOriginOfErrors()
    {
        var (w, _, _) = Create(new WindowOptions { SizeMs = 10_000, HopMs = 10_000 });
        var closed = new List<WindowAggregate>();
        w.Add(
            [
                // frontend server span 100 ms; its client call to cart took 80 ms and failed; cart's server span failed
                // by itself.
                new SpanRecord(T0 + 10, "c", "cart", "t1", "s3", "s2", "GetCart", SpanKind.Server, null, 78, true),
                new SpanRecord(T0 + 5, "c", "frontend", "t1", "s2", "s1", "GetCart", SpanKind.Client, "cart", 80, true),
                new SpanRecord(T0, "c", "frontend", "t1", "s1", null, "GET /", SpanKind.Server, null, 100, true),
            ],
            closed
        );
        w.Flush(closed);
        var window = Assert.Single(closed);
        var frontend = window.Services["frontend"];
        var cart = window.Services["cart"];
        Assert.Equal(0, frontend.OriginErrors); // its error came from cart
        Assert.Equal(1, cart.OriginErrors);
        Assert.InRange(frontend.SelfTime.Quantile(0.5), 18, 22); // 100 - 80
        Assert.InRange(cart.SelfTime.Quantile(0.5), 74, 82);
        Assert.Equal(1, window.Edges[("frontend", "cart")].Errors);
    }

    [Fact]
    public void InvalidOptionsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new WindowOptions { SizeMs = 10_000, HopMs = 3_000 }.Validate());
        Assert.Throws<ArgumentException>(() => new WindowOptions { SizeMs = 10_000, HopMs = 20_000 }.Validate());
    }
}
