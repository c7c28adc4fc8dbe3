using LogWhisperer.Decode;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

/// <summary>Tests that measure the process's managed heap run alone: other tests allocating at the same time would be
/// counted.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "memory measurement (runs alone)";
}

/// <summary>Label and cardinality limits, duplicate removal and load shedding: each limit refuses (or truncates) and
/// counts.</summary>
[Collection(MemoryMeasurementCollection.Name)]
public class IngestGuardTests
{
    private const long T0 = 1_767_225_600_000;

    [Fact]
    public void ARefusedRecordIsDeadLetteredWithACodeForWhyAndTheSpecificsBeside()
    {
        var guard = new IngestGuard(new IngestOptions { MaxLabelValueLength = 32 });
        var dlq = new MemoryDeadLetterSink();
        var counters = new PipelineCounters();
        Assert.NotNull(guard.Admit(Metric(), dlq, counters));
        Assert.Null(guard.Admit(Metric(service: ""), dlq, counters));
        Assert.Null(guard.Admit(Metric(service: new string('s', 40)), dlq, counters));
        Assert.Equal(
            [
                (DeadLetterCode.InvalidRecord, "missing service"),
                (DeadLetterCode.OverLimit, "label value length: service name of 40 characters exceeds 32"),
            ],
            dlq.Letters.Select(l => (l.Code, l.Reason))
        );
        // Written as snake_case wherever it goes: JSON lines, Kafka headers, metric labels.
        Assert.Contains("\"Code\":\"over_limit\"", System.Text.Json.JsonSerializer.Serialize(dlq.Letters[1]));
        Assert.Equal("invalid_record", DeadLetterCode.InvalidRecord.Label());
        Assert.Equal(
            DeadLetterCode.OverLimit,
            System
                .Text.Json.JsonSerializer.Deserialize<DeadLetter>(
                    System.Text.Json.JsonSerializer.Serialize(dlq.Letters[1])
                )!
                .Code
        );
    }

    private static MetricSample Metric(
        string service = "cart",
        long ts = T0,
        IReadOnlyDictionary<string, string>? labels = null,
        string cluster = "c",
        string name = "up"
    ) => new(ts, cluster, service, name, 1, labels);

    private static Dictionary<string, string> Labels(int n, int nameLength = 4, int valueLength = 4) =>
        Enumerable.Range(0, n).ToDictionary(i => i.ToString("D" + nameLength), i => new string('v', valueLength));

    [Fact]
    public void LabelsPerRecordAreLimited()
    {
        var limits = new IngestLimits(new IngestOptions { MaxLabelsPerRecord = 8 });
        Assert.Null(limits.Check(Metric(labels: Labels(8))));
        Assert.StartsWith("labels per record: 9 labels", limits.Check(Metric(labels: Labels(9))));
        Assert.Equal(1, limits.Counters["limit: labels per record"]);
    }

    [Fact]
    public void LabelNameAndValueLengthsAreLimited()
    {
        var limits = new IngestLimits(new IngestOptions { MaxLabelNameLength = 16, MaxLabelValueLength = 32 });
        Assert.Null(limits.Check(Metric(labels: Labels(1, nameLength: 16, valueLength: 32))));
        Assert.StartsWith("label name length: 17", limits.Check(Metric(labels: Labels(1, nameLength: 17))));
        Assert.StartsWith("label value length", limits.Check(Metric(labels: Labels(1, valueLength: 33))));
        Assert.StartsWith("label value length: service name of 33", limits.Check(Metric(service: new string('s', 33))));
        Assert.Equal(1, limits.Counters["limit: label name length"]);
        Assert.Equal(2, limits.Counters["limit: label value length"]);
    }

    [Fact]
    public void LongLinesAreTruncatedLikeLokiNotRejected()
    {
        var limits = new IngestLimits(new IngestOptions { MaxLineLength = 100 });
        var log = new LogRecord(T0, "c", "cart", LogSeverity.Error, new string('x', 150));
        Assert.Null(limits.Admit(log, out var admitted));
        Assert.Equal(100, ((LogRecord)admitted).Message.Length);
        Assert.Null(limits.Admit(log with { Message = "short" }, out var untouched));
        Assert.Same("short", ((LogRecord)untouched).Message);
        Assert.Equal(1, limits.Counters[IngestCounters.Truncated]);
    }

    [Fact]
    public void DistinctServicesPerClusterWindowAreLimited()
    {
        var limits = new IngestLimits(new IngestOptions { MaxServicesPerClusterWindow = 3, WindowMs = 30_000 });
        for (int i = 0; i < 3; i++)
            Assert.Null(limits.Check(Metric(service: "s" + i)));
        Assert.Null(limits.Check(Metric(service: "s0"))); // known services still pass
        Assert.StartsWith("services per window", limits.Check(Metric(service: "s3")));
        Assert.StartsWith("services per window", limits.Check(Metric(service: "s3", cluster: "c")));
        Assert.Null(limits.Check(Metric(service: "s3", cluster: "other"))); // per cluster
        Assert.Null(limits.Check(Metric(service: "s3", ts: T0 + 30_000))); // per window
        Assert.Equal(2, limits.Counters["limit: services per window"]);
    }

    [Fact]
    public void DistinctSeriesPerClusterWindowAreLimited()
    {
        var limits = new IngestLimits(new IngestOptions { MaxSeriesPerClusterWindow = 10 });
        for (int i = 0; i < 10; i++)
            Assert.Null(limits.Check(Metric(labels: new Dictionary<string, string> { ["pod"] = "p" + i })));
        // a known series, a later sample
        Assert.Null(limits.Check(Metric(ts: T0 + 1, labels: new Dictionary<string, string> { ["pod"] = "p3" })));
        Assert.StartsWith(
            "series per window",
            limits.Check(Metric(labels: new Dictionary<string, string> { ["pod"] = "p10" }))
        );
        Assert.Equal(1, limits.Counters["limit: series per window"]);
    }

    [Fact]
    public void DistinctClustersAreLimited()
    {
        var limits = new IngestLimits(new IngestOptions { MaxClusters = 2 });
        Assert.Null(limits.Check(Metric(cluster: "a")));
        Assert.Null(limits.Check(Metric(cluster: "b")));
        Assert.StartsWith("clusters: more than 2", limits.Check(Metric(cluster: "x")));
        Assert.Null(limits.Check(Metric(cluster: "a", ts: T0 + 3_600_000)));
    }

    [Fact]
    public void AMillionUniqueServiceNamesAreRefusedAndMemoryStaysFlat()
    {
        var guard = new IngestGuard(new IngestOptions());
        var dead = new MemoryDeadLetterSink(capacity: 100);
        var counters = new PipelineCounters();
        GC.Collect();
        long before = GC.GetTotalMemory(true);
        int accepted = 0;
        for (int i = 0; i < 1_000_000; i++)
            if (
                guard.Admit(new LogRecord(T0 + i % 30_000, "c", "svc-" + i, LogSeverity.Info, "hello"), dead, counters)
                is not null
            )
                accepted++;
        long growth = GC.GetTotalMemory(true) - before;
        Assert.Equal(new IngestOptions().MaxServicesPerClusterWindow, accepted);
        Assert.Equal(1_000_000 - accepted, guard.Counters["limit: services per window"]);
        Assert.Equal(1_000_000 - accepted, dead.Total);
        Assert.True(growth < 16 << 20, $"guard state grew by {growth / 1048576.0:0.0} MiB");
    }

    [Fact]
    public void DuplicatesAreDroppedAndCounted()
    {
        var guard = new IngestGuard(new IngestOptions());
        var dead = new MemoryDeadLetterSink();
        var counters = new PipelineCounters();
        var span = new SpanRecord(T0, "c", "cart", "t1", "s1", null, "GET", SpanKind.Server, null, 5, false);
        var log = new LogRecord(T0, "c", "cart", LogSeverity.Info, "hello");
        var metric = Metric(labels: new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });
        Assert.NotNull(guard.Admit(span, dead, counters));
        Assert.NotNull(guard.Admit(log, dead, counters));
        Assert.NotNull(guard.Admit(metric, dead, counters));
        Assert.Null(guard.Admit(span with { DurationMs = 6 }, dead, counters)); // the same span id, sent again
        Assert.Null(guard.Admit(log with { }, dead, counters)); // the same Kafka message, delivered twice
        Assert.Null(
            guard.Admit(Metric(labels: new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" }), dead, counters)
        );
        Assert.NotNull(guard.Admit(log with { TimestampMs = T0 + 1 }, dead, counters)); // a new line with the same text
        Assert.NotNull(guard.Admit(span with { SpanId = "s2" }, dead, counters));
        Assert.Equal(3, guard.Counters[IngestCounters.Duplicate]);
        Assert.Equal(0, dead.Total);
    }

    [Fact]
    public void ABurstShedsDebugLogsAndSampledSpansButNeverMetricsOrErrors()
    {
        var guard = new IngestGuard(
            new IngestOptions
            {
                ShedAboveRecordsPerWindow = 1_000,
                HardShedFactor = 4,
                SpanSampleEvery = 10,
            }
        );
        var dead = new MemoryDeadLetterSink();
        var counters = new PipelineCounters();
        int metrics = 0,
            errors = 0,
            infos = 0,
            spans = 0;
        for (int i = 0; i < 20_000; i++)
        {
            long ts = T0 + i % 1000;
            if (
                guard.Admit(
                    Metric(ts: ts, labels: new Dictionary<string, string> { ["i"] = i.ToString() }),
                    dead,
                    counters
                )
                is not null
            )
                metrics++;
            if (guard.Admit(new LogRecord(ts, "c", "cart", LogSeverity.Error, "boom " + i), dead, counters) is not null)
                errors++;
            if (
                guard.Admit(new LogRecord(ts, "c", "cart", LogSeverity.Debug, "debug " + i), dead, counters) is not null
            )
                infos++;
            if (
                guard.Admit(
                    new SpanRecord(
                        ts,
                        "c",
                        "cart",
                        "trace" + i / 3,
                        "span" + i,
                        null,
                        "GET",
                        SpanKind.Server,
                        null,
                        1,
                        false
                    ),
                    dead,
                    counters
                )
                is not null
            )
                spans++;
        }
        Assert.Equal(20_000, metrics);
        Assert.Equal(20_000, errors);
        // The budget (1,000 records) is full after ~250 rounds of 4; then debug logs go, spans are sampled 1 trace in
        // 10, and past 4,000 records (metrics and errors keep coming) every span and debug log is shed.
        Assert.InRange(infos, 200, 300);
        Assert.InRange(spans, 260, 600);
        Assert.True(
            guard.Counters[IngestCounters.ShedLog] > 0
                && guard.Counters[IngestCounters.ShedSpan] > 0
                && guard.Counters[IngestCounters.ShedHard] > 0
        );
        Assert.Equal(80_000 - metrics - errors - infos - spans, guard.Counters.Total("shed: "));
        Assert.Equal(0, dead.Total);
    }
}
