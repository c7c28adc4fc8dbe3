using Confluent.Kafka;
using LogWhisperer.Kafka;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

/// <summary>Input offsets are committable only once the windows holding their records are handled.</summary>
public class OffsetTrackerTests
{
    private static readonly TopicPartition P0 = new("t", 0),
        P1 = new("t", 1);

    private static List<TelemetryRecord> Logs(string cluster, params long[] ts) =>
        ts.Select(t => (TelemetryRecord)new LogRecord(t, cluster, "svc", LogSeverity.Info, "x")).ToList();

    [Fact]
    public void AnOffsetCommitsOnlyAfterEveryWindowOfItsRecordsAndEveryEarlierMessage()
    {
        var tracker = new OffsetTracker(windowSizeMs: 30_000, hopMs: 30_000, lagMs: 0);
        tracker.Track(P0, 10, Logs("a", 1_000, 29_000), 0); // window [0, 30 s)
        tracker.Track(P0, 11, Logs("a", 31_000), 0); // window [30 s, 60 s)
        tracker.Track(P1, 5, Logs("b", 1_000), 0);
        Assert.Empty(tracker.TakeReady());

        tracker.WindowDone("a", 30_000);
        Assert.Equal([new TopicPartitionOffset(P0, 11)], tracker.TakeReady()); // next offset to read: 10 + 1
        tracker.WindowDone("a", 60_000);
        Assert.Equal([new TopicPartitionOffset(P0, 12)], tracker.TakeReady());
        Assert.Empty(tracker.TakeReady()); // cluster b still open
        tracker.WindowDone("b", 30_000);
        Assert.Equal([new TopicPartitionOffset(P1, 6)], tracker.TakeReady());
    }

    [Fact]
    public void UndecodableMessagesWaitForEarlierOnesAndLagHoldsCommitsBack()
    {
        var tracker = new OffsetTracker(windowSizeMs: 30_000, hopMs: 30_000, lagMs: 60_000);
        tracker.Track(P0, 0, Logs("a", 1_000), 0);
        tracker.Track(P0, 1, [], 0); // dead-lettered: nothing to wait for itself
        tracker.WindowDone("a", 60_000);
        Assert.Empty(tracker.TakeReady()); // its window ends at 30 s; + 60 s lag is not yet behind
        tracker.WindowDone("a", 90_000);
        Assert.Equal([new TopicPartitionOffset(P0, 2)], tracker.TakeReady());
    }

    [Fact]
    public void HoppingWindowsWaitForTheLastWindowHoldingTheRecord()
    {
        var tracker = new OffsetTracker(windowSizeMs: 30_000, hopMs: 10_000, lagMs: 0);
        tracker.Track(P0, 0, Logs("a", 25_000), 0); // in [0,30), [10,40), [20,50)
        tracker.WindowDone("a", 40_000);
        Assert.Empty(tracker.TakeReady());
        tracker.WindowDone("a", 50_000);
        Assert.Equal([new TopicPartitionOffset(P0, 1)], tracker.TakeReady());
    }

    [Fact]
    public void MessagesMixingClustersWaitForAllOfThem()
    {
        var tracker = new OffsetTracker(windowSizeMs: 30_000, hopMs: 30_000, lagMs: 0);
        tracker.Track(P0, 0, [.. Logs("a", 1_000), .. Logs("b", 2_000)], 0);
        tracker.WindowDone("a", 30_000);
        Assert.Empty(tracker.TakeReady());
        tracker.AllFlushed();
        Assert.Equal([new TopicPartitionOffset(P0, 1)], tracker.TakeReady());
    }
}
