using Confluent.Kafka;
using LogWhisperer.Kafka;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

public class EventTimeAlignerTests
{
    private static readonly TopicPartition Logs = new("logs", 0),
        Spans = new("spans", 0);
    private long _now = 1_000_000; // the aligner's wall clock, moved by the tests

    // Idle after 3 s of silence, then holding the others within 5 s of event time (the windows' slack) until quiet
    // after 30 s.
    private EventTimeAligner NewAligner() =>
        new(maxHeld: 1_000, idleAfterMs: 3_000, idleSlackMs: 5_000, stallMs: 30_000, clock: () => _now);

    private static List<TelemetryRecord> Seconds(long from, long to) =>
        Enumerable
            .Range((int)from, (int)(to - from + 1))
            .Select(s => (TelemetryRecord)new LogRecord(s * 1000L, "c", "svc", LogSeverity.Info, "m"))
            .ToList();

    private static long[] Release(EventTimeAligner aligner)
    {
        var output = new List<TelemetryRecord>();
        aligner.Release(output);
        return output.Select(r => r.TimestampMs / 1000).ToArray();
    }

    /// <summary>Both partitions up to second 10, caught up, then a long pause of the whole stream.</summary>
    private EventTimeAligner PausedAfterSecond10()
    {
        var aligner = NewAligner();
        aligner.Add(Logs, Seconds(1, 10));
        aligner.Add(Spans, Seconds(1, 10));
        Assert.Equal(10, Release(aligner).Length / 2);
        aligner.CaughtUp(Logs);
        aligner.CaughtUp(Spans);
        Assert.Empty(Release(aligner));
        _now += 60_000;
        return aligner;
    }

    [Fact]
    public void AfterAPauseOfTheWholeStreamThePartitionThatResumesFirstWaitsForTheOthers()
    {
        var aligner = PausedAfterSecond10();
        aligner.Add(Logs, Seconds(11, 100)); // the logs of the next 90 s land a moment before their spans
        Assert.Empty(Release(aligner)); // counted from the pause, spans would be idle: they hold the logs back
        _now += 500;
        aligner.Add(Spans, Seconds(11, 100));
        var released = Release(aligner);
        Assert.Equal(180, released.Length);
        Assert.Equal(released.Order(), released); // in event-time order: nothing reaches the windower late
    }

    [Fact]
    public void APartitionThatStaysSilentWhileItHoldsOthersBackGoesIdleAfterTheIdleTimeAndQuietAfterTheStallTime()
    {
        var aligner = PausedAfterSecond10();
        aligner.Add(Logs, Seconds(11, 20));
        Assert.Empty(Release(aligner));
        _now += 2_000;
        aligner.Add(Logs, Seconds(21, 22)); // the logs go on flowing, the spans stay silent
        Assert.Empty(Release(aligner));
        _now += 999;
        Assert.Empty(Release(aligner));
        _now += 1;
        // Idle: the logs go on, but no further than the slack past the spans' newest record (seconds 11–15).
        Assert.Equal(Seconds(11, 15).Select(r => r.TimestampMs / 1000), Release(aligner));
        _now += 26_999;
        Assert.Empty(Release(aligner));
        _now += 1;
        Assert.Equal(7, Release(aligner).Length); // quiet after 30 s: the logs go on alone (16–22)
        _now += 500;
        aligner.Add(Logs, Seconds(23, 24));
        Assert.Equal(2, Release(aligner).Length); // and it stays quiet while it is silent
        aligner.Add(Spans, Seconds(21, 30)); // back: it holds the logs at its own event time again
        aligner.Add(Logs, Seconds(25, 40));
        Assert.Equal(16, Release(aligner).Length); // spans 21–30 and logs 25–30
        Assert.Equal(10, aligner.Held);
    }

    [Fact]
    public void APartitionThatStallsWhileTheOthersRunAheadMakesNoneOfItsRecordsLateUpToTheStallTime()
    {
        // A live stream written many times faster than real time (a backfill, a test's producer under load): the
        // spans' producer stalls for 10 s while the logs go on by 200 s of event time. Had the logs been released
        // past the spans' newest record by more than the windows' slack, windows the spans' next records belong to
        // would have closed without them (they would be dead-lettered as late).
        var aligner = PausedAfterSecond10();
        aligner.Add(Logs, Seconds(11, 12));
        aligner.Add(Spans, Seconds(11, 12));
        Assert.Equal(4, Release(aligner).Length);
        aligner.CaughtUp(Spans);
        var released = new List<long>();
        for (int s = 1; s <= 10; s++)
        {
            _now += 1_000;
            aligner.Add(Logs, Seconds(13 + 20 * (s - 1), 12 + 20 * s));
            released.AddRange(Release(aligner));
        }
        Assert.Equal(Seconds(13, 17).Select(r => r.TimestampMs / 1000), released); // within the slack of second 12
        aligner.Add(Spans, Seconds(13, 212)); // the spans' producer is back
        var after = Release(aligner);
        Assert.Equal(200 + 195, after.Length);
        Assert.Equal(after.Order(), after); // the spans' records in time: none behind what was already released
        Assert.True(after[0] >= released[^1] - 5);
    }

    [Fact]
    public void PartitionsThatCaughtUpTogetherGoIdleTogetherNotEachInTurn()
    {
        // The end of a backlog read from many partitions: 20 partitions end at seconds 1 to 20 and catch up at
        // the same moment; the spans go on to second 40. After one idle time the spans are released within the slack
        // of the oldest partition's end, and after one stall time all of them: not one partition's idle or stall time
        // after another as the oldest held record passes each one's newest.
        var aligner = NewAligner();
        var ended = Enumerable.Range(1, 20).Select(i => new TopicPartition("logs", i)).ToList();
        foreach (var (tp, i) in ended.Select((tp, i) => (tp, i + 1)))
            aligner.Add(tp, Seconds(i, i));
        aligner.Add(Spans, Seconds(1, 40));
        foreach (var tp in ended)
            aligner.CaughtUp(tp);
        aligner.CaughtUp(Spans);
        Assert.Equal(2, Release(aligner).Length); // second 1 of the first log partition and of the spans
        _now += 3_000;
        Assert.Equal(5 + 5, Release(aligner).Length); // logs 2–6, spans 2–6: within 5 s of the first partition's end
        _now += 27_000;
        Assert.Equal(14 + 34, Release(aligner).Length); // logs 7–20, spans 7–40
        Assert.Equal(0, aligner.Held);
    }

    [Fact]
    public void TheSameRecordsAreReleasedInTheSameOrderWhicheverPartitionDeliveredFirst()
    {
        // Records of the same milliseconds on two partitions, and a delivery whose records are out of order (a Loki
        // push holds several streams): released by event time, ties by partition and then by their order in the
        // delivery, never by which partition happened to be read first (a restarted engine must rebuild the same
        // windows, and a window's sums depend on the order they were added in).
        static List<TelemetryRecord> Delivery(string tag, params long[] seconds) =>
            seconds.Select(s => (TelemetryRecord)new LogRecord(s * 1000L, "c", "svc", LogSeverity.Info, tag)).ToList();
        string[] Released(bool logsFirst)
        {
            var aligner = NewAligner();
            // Each partition's deliveries in offset order; the partitions interleaved either way.
            var deliveries = new[]
            {
                (Logs, Delivery("log-a", 3, 1, 2)),
                (Logs, Delivery("log-b", 2, 4)),
                (Spans, Delivery("span-a", 1, 2, 2, 3, 4)),
            };
            foreach (var (tp, records) in logsFirst ? deliveries : deliveries.OrderBy(d => d.Item1 == Logs).ToArray())
                aligner.Add(tp, records);
            aligner.CaughtUp(Logs);
            aligner.CaughtUp(Spans);
            var output = new List<TelemetryRecord>();
            aligner.Release(output, all: true);
            return output.Select(r => $"{r.TimestampMs / 1000}:{((LogRecord)r).Message}").ToArray();
        }

        string[] expected =
        [
            "1:log-a",
            "1:span-a",
            "2:log-a",
            "2:log-b",
            "2:span-a",
            "2:span-a",
            "3:log-a",
            "3:span-a",
            "4:log-b",
            "4:span-a",
        ];
        Assert.Equal(expected, Released(logsFirst: true));
        Assert.Equal(expected, Released(logsFirst: false));
    }
}
