using System.Globalization;
using System.Text;
using LogWhisperer.Evaluation;
using LogWhisperer.Export;
using LogWhisperer.Features.Metrics;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sources.Datasets;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

/// <summary>A metrics-only export of the simulator (chaos run --layout wide-csv): two change-caused incidents with
/// benign changes beside them.</summary>
public sealed class WideExport : IDisposable
{
    public string Root { get; } = TestData.TempDir();
    public IReadOnlyList<Fault> Faults { get; }

    public WideExport()
    {
        var topology = Topology.Load(TestData.TopologyPath("online-boutique"));
        var sim = new SimulationOptions
        {
            Cluster = "online-boutique",
            Seed = 5,
            ConcurrentBenignChanges = 1,
        };
        long t0 = sim.StartMs;
        Faults =
        [
            new Fault("cartservice", FaultKind.BadDeploy, t0 + 8 * 60_000, t0 + 11 * 60_000, 0.7),
            new Fault("productcatalogservice", FaultKind.ConfigChange, t0 + 16 * 60_000, t0 + 19 * 60_000, 0.7),
        ];
        WideCsvRecorder.RecordAsync(topology, sim, Faults, t0 + 21 * 60_000, Root).GetAwaiter().GetResult();
    }

    public static DatasetMapping ShippedMapping() =>
        DatasetMapping.Load(Path.Combine(AppContext.BaseDirectory, "datasets", "chaos-wide.json"));

    public void Dispose() => Directory.Delete(Root, true);
}

/// <summary>Adapter v2: layouts other than Nezha's, described by mapping files alone.</summary>
public class DatasetLayoutTests(WideExport export, ITestOutputHelper output) : IClassFixture<WideExport>
{
    private static readonly Lazy<GatScorer> Shipped = new(() =>
        new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU)
    );

    [Fact]
    public async Task TheWideMetricsOnlyExportReplaysThroughTheShippedMappingAndNamesTheGuiltyChange()
    {
        var events = new List<Explain.RcaEvent>();
        var result = await new DatasetReplay(WideExport.ShippedMapping(), export.Root).RunAsync(
            Shipped.Value,
            [new RobustZScoreRanker()],
            onEvent: events.Add
        );
        var withheld = new List<Explain.RcaEvent>();
        var without = await new DatasetReplay(WideExport.ShippedMapping(), export.Root).RunAsync(
            Shipped.Value,
            [],
            withholdChanges: true,
            onEvent: withheld.Add
        );
        output.WriteLine(Cli.Commands.ConsoleOutput.ToText(c => Cli.Commands.ConsoleOutput.Ranking(c, result.Ranking)));
        output.WriteLine(
            Cli.Commands.ConsoleOutput.ToText(c => Cli.Commands.ConsoleOutput.Ranking(c, without.Ranking))
        );
        Assert.Equal(2, result.Cases);
        Assert.Equal(0, result.RowsRejected);
        // Metrics only: the events rank from what exists and say what was missing.
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.Equal(["logs", "traces"], e.MissingEvidence));
        // The changes never make a ranking worse here, and where the root is named first its change is named with it.
        Assert.All(
            result.Ranking.Incidents.Zip(without.Ranking.Incidents),
            p =>
                Assert.True(
                    p.First.Ranks[0] <= p.Second.Ranks[0],
                    $"{p.First.Fault.Kind}: {p.First.Ranks[0]} with changes, {p.Second.Ranks[0]} without"
                )
        );
        Assert.Equal(1, result.Ranking.Incidents.Single(r => r.Fault.Kind == FaultKind.ConfigChange).Ranks[0]);
        int named = 0;
        foreach (var f in export.Faults)
        {
            var first = events
                .Where(e => e.Candidates[0].Service == f.Service && e.WindowEnd.ToUnixTimeMilliseconds() > f.StartMs)
                .OrderBy(e => e.WindowStart)
                .FirstOrDefault();
            if (first is null)
                continue;
            output.WriteLine(first.Explanation);
            named++;
            Assert.NotNull(first.Change);
            Assert.Equal(f.Service, first.Change!.Service);
            Assert.Equal(f.Kind == FaultKind.BadDeploy ? "rollout" : "config", first.Change.Kind);
            Assert.InRange(first.Change.StartedAt.ToUnixTimeMilliseconds(), f.StartMs - 40_000, f.StartMs - 10_000);
            // Named in words, before or after the incident's start (an early alarm can open the incident before the
            // change).
            Assert.Contains(
                $"{(f.Kind == FaultKind.BadDeploy ? "rollout of" : "configuration change of")} {f.Service}",
                first.Explanation,
                StringComparison.OrdinalIgnoreCase
            );
            Assert.Empty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.Event, first.ToJson()));
        }
        Assert.True(named >= 1);
        Assert.All(withheld, e => Assert.Null(e.Change));
    }

    [Fact]
    public void WideFilesGiveTheEngineSeriesWithEdgesFromFileNamesAndTheTopologyFile()
    {
        var dlq = new MemoryDeadLetterSink();
        var adapter = new DatasetAdapter(WideExport.ShippedMapping(), export.Root, dlq);
        var cases = adapter.LoadCases();
        var records = cases[0].Records;
        Assert.DoesNotContain(records, r => r is LogRecord);
        Assert.DoesNotContain(records, r => r is SpanRecord { Kind: not SpanKind.Client });
        Assert.Contains(records, r => r is MetricSample { Name: "istio_requests_total", Service: "cartservice" });
        Assert.Contains(
            records,
            r => r is MetricSample { Name: "istio_request_duration_milliseconds_bucket", Service: "cartservice" }
        );
        Assert.Contains(
            records,
            r => r is MetricSample { Name: "container_cpu_usage_seconds_total", Service: "cartservice" }
        );
        Assert.Contains(
            records,
            r => r is MetricSample { Name: "container_memory_working_set_bytes", Service: "cartservice" }
        );
        Assert.Contains(
            records,
            r => r is SpanRecord { Kind: SpanKind.Client, Service: "frontend", PeerService: "cartservice" }
        );
        var topology = adapter.LoadTopology();
        Assert.Contains(("frontend", "cartservice"), topology);
        Assert.Contains(("cartservice", "redis-cart"), topology);
        Assert.Contains(cases[0].Changes, c => c.Service == "cartservice" && c.Kind == Changes.ChangeKind.Rollout);
        Assert.True(adapter.BlankValues > 0, "blank cells are counted"); // the first interval has no CPU rate yet
        Assert.Empty(dlq.Letters);
    }

    [Fact]
    public void HeaderRowsReadTheSameSeriesAsTheColumnPattern()
    {
        // The same wide file with service, metric and statistic in three header rows instead of one column name.
        var dir = TestData.TempDir();
        CopyExport(dir);
        var lines = File.ReadAllLines(Path.Combine(export.Root, "metrics.csv"));
        var names = lines[0].Split(',');
        var parts = names
            .Skip(1)
            .Select(n => System.Text.RegularExpressions.Regex.Match(n, "^(.+?)__(.+?)(?:_(avg|p95))?$"))
            .ToArray();
        File.WriteAllLines(
            Path.Combine(dir, "metrics.csv"),
            [
                "time," + string.Join(',', parts.Select(m => m.Groups[1].Value)),
                "," + string.Join(',', parts.Select(m => m.Groups[2].Value)),
                "," + string.Join(',', parts.Select(m => m.Groups[3].Value)),
                .. lines.Skip(1),
            ]
        );
        var pattern = WideExport.ShippedMapping();
        var rows = pattern with
        {
            Metrics = pattern.Metrics! with { ColumnPattern = null, HeaderRows = ["service", "metric", "statistic"] },
        };
        Assert.Empty(rows.Problems());
        static List<string> Series(DatasetMapping m, string root) =>
            new DatasetAdapter(m, root, new MemoryDeadLetterSink())
                .LoadCases()[1]
                .Records.OfType<MetricSample>()
                .Select(s => FormattableString.Invariant($"{s.TimestampMs} {s.Service} {s.Name} {s.Value:R}"))
                .ToList();
        Assert.Equal(Series(pattern, export.Root), Series(rows, dir));
    }

    [Fact]
    public async Task LongRowsPerSampleInCaseFoldersWithTheirOwnLabelsAndABaselineFolder()
    {
        // Another archive layout: one folder per case (its own long-format metrics, one row per sample, and a
        // label.json with the root cause and a Unix timestamp), a folder of fault-free data, a JSON edge list.
        var dir = TestData.TempDir();
        var wide = File.ReadAllLines(Path.Combine(export.Root, "metrics.csv"));
        var names = wide[0].Split(',');
        var rows = wide.Skip(1).Select(l => l.Split(',')).ToList();
        long Ms(string[] row) => DateTimeOffset.Parse(row[0], CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
        void WriteLong(string folder, IEnumerable<string[]> selected)
        {
            Directory.CreateDirectory(folder);
            var sb = new StringBuilder("timestamp_ms,pod,metric,stat,value\n");
            foreach (var row in selected)
                for (int c = 1; c < names.Length; c++)
                {
                    var m = System.Text.RegularExpressions.Regex.Match(names[c], "^(.+?)__(.+?)(?:_(avg|p95))?$");
                    sb.Append(
                        CultureInfo.InvariantCulture,
                        $"{Ms(row)},{m.Groups[1].Value}-7d4b9c-x2k9p,{m.Groups[2].Value},{m.Groups[3].Value},{row[c]}\n"
                    );
                }
            File.WriteAllText(Path.Combine(folder, "metrics.csv"), sb.ToString());
        }
        long t0 = Ms(rows[0]);
        WriteLong(Path.Combine(dir, "normal"), rows.Where(r => Ms(r) < t0 + 6 * 60_000));
        foreach (var (f, i) in export.Faults.Select((f, i) => (f, i)))
        {
            var folder = Path.Combine(dir, "cases", $"incident-{i + 1}");
            WriteLong(folder, rows.Where(r => Ms(r) >= f.StartMs - 4 * 60_000 && Ms(r) < f.EndMs));
            File.WriteAllText(
                Path.Combine(folder, "label.json"),
                $"{{\"root\": \"{f.Service}-7d4b9c-x2k9p\", \"ts\": {f.StartMs / 1000}}}"
            );
        }
        File.WriteAllText(
            Path.Combine(dir, "graph.json"),
            "["
                + string.Join(
                    ",",
                    File.ReadAllLines(Path.Combine(export.Root, "topology.csv"))
                        .Skip(1)
                        .Select(l => l.Split(','))
                        .Select(e => $"{{\"from\": \"{e[0]}\", \"to\": \"{e[1]}\"}}")
                )
                + "]"
        );
        var mappingPath = Path.Combine(dir, "mapping.json");
        File.WriteAllText(
            mappingPath,
            """
            {
              "name": "archive",
              "servicePattern": "^(.*)-[a-z0-9]+-[a-z0-9]+$",
              "metrics": {
                "files": [ "metrics.csv" ],
                "time": { "column": "timestamp_ms", "unit": "ms" },
                "service": "pod",
                "nameColumn": "metric", "valueColumn": "value", "statisticColumn": "stat",
                "gauges": {
                  "requests_per_s": { "meaning": "requestRate" },
                  "errors_pct": { "meaning": "errorShare", "unit": "percent" },
                  "latency_ms": { "meaning": "latency", "unit": "ms" },
                  "cpu_millicores": { "meaning": "cpu", "unit": "millicores" },
                  "memory_mib": { "meaning": "memory", "unit": "mib" }
                }
              },
              "topology": { "file": "graph.json", "caller": "from", "callee": "to" },
              "cases": {
                "folders": "cases/*",
                "label": { "file": "label.json", "timeField": "ts", "timeFormat": "unix-s", "serviceField": "root", "defaultKind": "Errors" }
              },
              "baseline": { "folder": "normal" }
            }
            """
        );
        var mapping = DatasetMapping.Load(mappingPath);
        var adapter = new DatasetAdapter(mapping, dir, new MemoryDeadLetterSink());
        var cases = adapter.LoadCases();
        Assert.Equal(["cartservice", "productcatalogservice"], cases.Select(c => c.Fault.Service));
        Assert.Equal(export.Faults.Select(f => f.StartMs / 1000 * 1000), cases.Select(c => c.Fault.StartMs));
        Assert.Equal(["archive-incident-1", "archive-incident-2"], cases.Select(c => c.Cluster));
        Assert.True(
            cases[0].Records[0].TimestampMs <= export.Faults[0].StartMs - 4 * 60_000 - 4 * 60_000,
            "the baseline is replayed before the case"
        );
        Assert.Contains(("frontend", "cartservice"), adapter.LoadTopology());

        var result = await new DatasetReplay(mapping, dir).RunAsync(Shipped.Value, []);
        output.WriteLine(Cli.Commands.ConsoleOutput.ToText(c => Cli.Commands.ConsoleOutput.Ranking(c, result.Ranking)));
        Assert.Equal(2, result.Ranking.Incidents.Count);
        // Every case is judged on a window of its fault with all 11 services in the graph (12 would mean the root is
        // absent).
        Assert.All(result.Ranking.Incidents, r => Assert.InRange(r.Ranks[0], 1, 11));
        Assert.All(
            result.Ranking.Incidents.Zip(export.Faults),
            p => Assert.InRange(p.First.WindowStartMs, p.Second.StartMs - 30_000, p.Second.EndMs)
        );
    }

    [Fact]
    public void GaugesWithDeclaredUnitsReadBackAsTheEngineMeasuresThem()
    {
        // 20 requests/min at 2 % errors and a p95 of 0.3 s, every 10 s: the engine's mesh measures read 1/3 req/s,
        // 0.02 and ~300 ms back (within a latency bucket, 1.5× wide).
        var dir = TestData.TempDir();
        var csv = new StringBuilder("t,svc,rpm,err,p95,cpu,mem\n");
        for (int i = 0; i < 7; i++)
            csv.Append(CultureInfo.InvariantCulture, $"{1_700_000_000 + 10 * i},api,20,2,0.3,50,25\n");
        File.WriteAllText(Path.Combine(dir, "m.csv"), csv.ToString());
        File.WriteAllText(Path.Combine(dir, "faults.json"), """[{"service": "api", "time": "2023-11-14 22:14:00"}]""");
        var mapping = new DatasetMapping
        {
            Name = "units",
            Metrics = new MetricMapping
            {
                Files = ["m.csv"],
                Time = new TimeColumn("t", "s"),
                Service = "svc",
                Gauges = new()
                {
                    ["rpm"] = new GaugeSpec(GaugeMeaning.RequestRate, "perMinute"),
                    ["err"] = new GaugeSpec(GaugeMeaning.ErrorShare, "percent"),
                    ["p95"] = new GaugeSpec(GaugeMeaning.Latency, "s", "p95"),
                    ["cpu"] = new GaugeSpec(GaugeMeaning.Cpu, "percent"),
                    ["mem"] = new GaugeSpec(GaugeMeaning.Memory, "percent", LimitBytes: 1 << 30),
                },
            },
            Faults = new FaultMapping
            {
                File = "faults.json",
                TimeField = "time",
                ServiceField = "service",
                DefaultKind = FaultKind.Latency,
            },
            LeadSeconds = 600,
        };
        Assert.Empty(mapping.Problems());
        var records = new DatasetAdapter(mapping, dir, new MemoryDeadLetterSink())
            .LoadCases()[0]
            .Records.OfType<MetricSample>()
            .ToList();
        var mesh = new MeshRequestSamples();
        foreach (var m in records.Where(MeshRequestSamples.Reads))
            mesh.Add(m);
        var measured = new MeshRequestMeasures().Measure(mesh);
        Assert.Equal(1 / 3.0, measured.RequestRate, 3);
        Assert.Equal(0.02, measured.ErrorRatio, 6);
        Assert.InRange(measured.LatencyP95, 300 / 1.5, 300 * 1.5);
        var cpu = records.Where(m => m.Name == "container_cpu_usage_seconds_total").ToList();
        // 50 % of a core
        Assert.Equal(0.5, (cpu[^1].Value - cpu[0].Value) / ((cpu[^1].TimestampMs - cpu[0].TimestampMs) / 1000.0), 6);
        Assert.All(
            records.Where(m => m.Name == "container_memory_working_set_bytes"),
            m => Assert.Equal(0.25 * (1 << 30), m.Value)
        );
    }

    private void CopyExport(string dir)
    {
        foreach (var file in Directory.EnumerateFiles(export.Root, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir, Path.GetRelativePath(export.Root, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

/// <summary>Anything that does not fit the mapping gives a clear error naming the file, line and column (or the
/// mapping's key); nothing is skipped silently.</summary>
public class DatasetMappingErrorTests
{
    private static string Write(string json)
    {
        var path = Path.Combine(TestData.TempDir(), "mapping.json");
        File.WriteAllText(path, json);
        return path;
    }

    private const string Faults =
        """ "faults": { "file": "f.json", "timeField": "t", "serviceField": "s", "defaultKind": "Errors" } """;

    [Theory]
    [InlineData(
        """{"name": "x", "metrics": {"files": ["m.csv"], "layout": "wide", "time": {"column": "t"}, "gauges": {"lat": {"meaning": "latency"}}}, FAULTS}""",
        "metrics.the wide layout needs exactly one of columnPattern and headerRows"
    )]
    [InlineData(
        """{"name": "x", "metrics": {"files": ["m.csv"], "layout": "wide", "time": {"column": "t"}, "columnPattern": "^(?<svc>.+)_(?<metric>.+)$", "gauges": {"lat": {"meaning": "latency"}}}, FAULTS}""",
        "columnPattern: needs the named groups (?<service>…) and (?<metric>…)"
    )]
    [InlineData(
        """{"name": "x", "metrics": {"files": ["m.csv"], "time": {"column": "t"}, "service": "pod", "gauges": {"lat": {"meaning": "latency", "unit": "msec"}}}, FAULTS}""",
        "metrics.gauges['lat']: unit 'msec' is not one of ms, s, us for Latency"
    )]
    [InlineData(
        """{"name": "x", "metrics": {"files": ["m.csv"], "time": {"column": "t"}, "service": "pod", "gauges": {"mem": {"meaning": "memory", "unit": "percent"}}}, FAULTS}""",
        "memory in percent needs limitBytes"
    )]
    [InlineData(
        """{"name": "x", "metrics": {"files": ["m.csv"], "time": {"column": "t"}, "service": "pod", "gauges": {"lat": {"meaning": "latency"}}}}""",
        "give exactly one of faults (a shared fault list) and cases (a folder per case)"
    )]
    [InlineData("""{"name": "x", FAULTS}""", "no telemetry: give at least one of logs, traces, metrics, edgeMetrics")]
    [InlineData(
        """{"name": "x", "metrics": {"files": ["m.csv"], "time": {"column": "t"}, "service": "pod", "gauges": {"lat": {"meaning": "latensy"}}}, FAULTS}""",
        "$.metrics.gauges.lat.meaning"
    )]
    [InlineData(
        """{"name": "x", "metrics": {"files": ["m.csv"], "time": {"column": "t"}, "service": "pod", "gauge": {}}, FAULTS}""",
        "gauge"
    )]
    public void BadMappingsAreRefusedWithTheFileAndWhatIsWrong(string json, string expected)
    {
        var path = Write(json.Replace("FAULTS", Faults));
        var e = Assert.Throws<InvalidDataException>(() => DatasetMapping.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    private static (DatasetAdapter Adapter, MemoryDeadLetterSink Dlq) Wide(
        string csv,
        string? pattern = "^(?<service>[a-z]+)_(?<metric>latency|rps)$"
    )
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "m.csv"), csv);
        File.WriteAllText(Path.Combine(dir, "f.json"), """{"s": "a", "t": "2026-01-01 00:00:30"}""");
        var mapping = new DatasetMapping
        {
            Name = "x",
            Metrics = new MetricMapping
            {
                Files = ["m.csv"],
                Layout = MetricLayout.Wide,
                Time = new TimeColumn("t", "s"),
                ColumnPattern = pattern,
                Gauges = new()
                {
                    ["latency"] = new GaugeSpec(GaugeMeaning.Latency),
                    ["rps"] = new GaugeSpec(GaugeMeaning.RequestRate),
                },
            },
            Faults = new FaultMapping
            {
                File = "f.json",
                TimeField = "t",
                ServiceField = "s",
                DefaultKind = FaultKind.Latency,
            },
        };
        var dlq = new MemoryDeadLetterSink();
        return (new DatasetAdapter(mapping, dir, dlq), dlq);
    }

    [Fact]
    public void ABadCellIsDeadLetteredWithFileLineAndColumnAndABlankOneIsCounted()
    {
        var (adapter, dlq) = Wide("t,a_latency,a_rps\n1767225600,12,3\n1767225615,abc,\n1767225630,14,3,9\n");
        adapter.LoadCases();
        Assert.Equal(2, adapter.RowsRejected);
        Assert.Contains(dlq.Letters, l => l.Reason == "m.csv:3: column 'a_latency': 'abc' is not a number");
        Assert.Contains(
            dlq.Letters,
            l => l.Reason.StartsWith("m.csv:4: 4 fields, the header 3", StringComparison.Ordinal)
        );
        Assert.Equal(1, adapter.BlankValues);
    }

    [Fact]
    public void AWideColumnThatFitsNoPatternStopsTheLoadRatherThanVanishing()
    {
        var (adapter, _) = Wide("t,a_latency,a_cpu_total\n1767225600,12,3\n");
        var e = Assert.Throws<InvalidDataException>(() => adapter.LoadCases());
        Assert.Contains("m.csv:1: column 3 'a_cpu_total' does not match metrics.columnPattern", e.Message);
    }

    [Fact]
    public void AColumnTheMappingNamesButTheFileLacksIsNamed()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "m.csv"), "time,pod,lat\n1767225600,a,1\n");
        File.WriteAllText(Path.Combine(dir, "f.json"), """{"s": "a", "t": "2026-01-01 00:00:30"}""");
        var mapping = new DatasetMapping
        {
            Name = "x",
            Metrics = new MetricMapping
            {
                Files = ["m.csv"],
                Time = new TimeColumn("time", "s"),
                Service = "service",
                Gauges = new() { ["lat"] = new GaugeSpec(GaugeMeaning.Latency) },
            },
            Faults = new FaultMapping
            {
                File = "f.json",
                TimeField = "t",
                ServiceField = "s",
                DefaultKind = FaultKind.Latency,
            },
        };
        var e = Assert.Throws<InvalidDataException>(() =>
            new DatasetAdapter(mapping, dir, new MemoryDeadLetterSink()).LoadCases()
        );
        Assert.Contains("m.csv:1: no column 'service' named by metrics", e.Message);
    }

    [Fact]
    public void AGlobThatMatchesNothingIsAnError()
    {
        var mapping = new DatasetMapping
        {
            Name = "x",
            Metrics = new MetricMapping
            {
                Files = ["metrics/*.csv"],
                Time = new TimeColumn("t", "s"),
                Service = "s",
                Gauges = new() { ["x"] = new GaugeSpec(GaugeMeaning.Cpu) },
            },
            Faults = new FaultMapping
            {
                File = "f.json",
                TimeField = "t",
                ServiceField = "s",
                DefaultKind = FaultKind.Latency,
            },
        };
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "f.json"), """{"s": "a", "t": "2026-01-01 00:00:30"}""");
        var e = Assert.Throws<FileNotFoundException>(() =>
            new DatasetAdapter(mapping, dir, new MemoryDeadLetterSink()).LoadCases()
        );
        Assert.Contains("'metrics/*.csv' matches no file", e.Message);
    }
}

public class EdgeColumnTests
{
    [Fact]
    public void EdgeFilesWithCallerAndCalleeColumnsBecomeClientSpansAndDeclaredEdges()
    {
        var dir = TestData.TempDir();
        var csv = new StringBuilder("ts,src,dst,rps,err,p99\n");
        for (int i = 0; i < 4; i++)
            csv.Append(CultureInfo.InvariantCulture, $"{1_767_225_600 + 10 * i},web-1,api-1,2,50,0.2\n");
        File.WriteAllText(Path.Combine(dir, "edges.csv"), csv.ToString());
        File.WriteAllText(Path.Combine(dir, "f.json"), """{"s": "api-1", "t": "2026-01-01 00:00:20"}""");
        var mapping = new DatasetMapping
        {
            Name = "edges",
            ServicePattern = "^(.*)-\\d+$",
            EdgeMetrics = new EdgeMetricMapping
            {
                Files = ["edges.csv"],
                Time = new TimeColumn("ts", "s"),
                Caller = "src",
                Callee = "dst",
                Gauges = new()
                {
                    ["rps"] = new GaugeSpec(GaugeMeaning.RequestRate),
                    ["err"] = new GaugeSpec(GaugeMeaning.ErrorShare, "percent"),
                    ["p99"] = new GaugeSpec(GaugeMeaning.Latency, "s", "p99"),
                },
            },
            Faults = new FaultMapping
            {
                File = "f.json",
                TimeField = "t",
                ServiceField = "s",
                DefaultKind = FaultKind.Errors,
            },
        };
        Assert.Empty(mapping.Problems());
        var spans = new DatasetAdapter(mapping, dir, new MemoryDeadLetterSink())
            .LoadCases()[0]
            .Records.OfType<SpanRecord>()
            .ToList();
        // 2 calls/s over the 10 s since each previous sample (the first only starts the series)
        Assert.Equal(3 * 20, spans.Count);
        Assert.All(spans, s => Assert.Equal(("web", "api", SpanKind.Client), (s.Service, s.PeerService, s.Kind)));
        Assert.Equal(30, spans.Count(s => s.IsError));
        Assert.All(spans, s => Assert.Equal(200, s.DurationMs, 6));
    }
}

public class WarmupFromOtherLeadsTests
{
    // Three faults on one fault list, 10 minutes apart, each 3 minutes long; one log line per second, its text
    // saying which stretch it comes from. The fault-free files hold one minute ("normal").
    private static (DatasetMapping Mapping, string Dir) Archive(bool fromLeads)
    {
        var dir = TestData.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        long t0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture).ToUnixTimeSeconds();
        var normal = new StringBuilder("t,s,m\n");
        for (int s = 0; s < 60; s++)
            normal.Append(CultureInfo.InvariantCulture, $"{t0 - 3600 + s},a,normal\n");
        File.WriteAllText(Path.Combine(dir, "logs", "normal.csv"), normal.ToString());
        var incident = new StringBuilder("t,s,m\n");
        for (int s = 0; s < 30 * 60; s++)
            incident.Append(CultureInfo.InvariantCulture, $"{t0 + s},a,minute-{s / 60}\n");
        File.WriteAllText(Path.Combine(dir, "logs", "incident.csv"), incident.ToString());
        File.WriteAllText(
            Path.Combine(dir, "faults.json"),
            "["
                + string.Join(
                    ", ",
                    new[] { 5, 15, 25 }.Select(m => $$"""{"s": "a", "t": "2026-01-01 00:{{m:D2}}:00"}""")
                )
                + "]"
        );
        var mapping = new DatasetMapping
        {
            Name = "x",
            WarmupMinutes = 3,
            LeadSeconds = 60,
            WarmupFromOtherLeads = fromLeads,
            Logs = new LogMapping
            {
                Files = ["logs/incident.csv"],
                NormalFiles = ["logs/normal.csv"],
                Time = new TimeColumn("t", "s"),
                Service = "s",
                Message = "m",
            },
            Faults = new FaultMapping
            {
                File = "faults.json",
                TimeField = "t",
                ServiceField = "s",
                DefaultKind = FaultKind.Errors,
            },
        };
        return (mapping, dir);
    }

    private static List<string> WarmupStretches(DatasetCase c)
    {
        long caseStart = c.Fault.StartMs - 60_000;
        var stretches = new List<string>();
        foreach (var r in c.Records.OfType<LogRecord>().Where(r => r.TimestampMs < caseStart))
            if (stretches.Count == 0 || stretches[^1] != r.Message)
                stretches.Add(r.Message);
        return stretches;
    }

    [Fact]
    public void ACaseWarmsUpOnTheEarlierCasesLeadMinutesNearestLastThenTheNormalFiles()
    {
        var (mapping, dir) = Archive(fromLeads: true);
        var cases = new DatasetAdapter(mapping, dir, new MemoryDeadLetterSink()).LoadCases();
        Assert.Equal(3, cases.Count);
        // The third case: the second's lead minute (just before its fault) replays last, the first's before it,
        // then the normal minute; never a minute inside a fault or after the case.
        Assert.Equal(["normal", "minute-4", "minute-14"], WarmupStretches(cases[2]));
        Assert.Equal(["normal", "minute-4"], WarmupStretches(cases[1])[^2..]);
        // The first case has nothing earlier: the normal minute, looped.
        Assert.Equal(["normal"], WarmupStretches(cases[0]));
        Assert.Equal(
            3 * 60,
            cases[0].Records.OfType<LogRecord>().Count(r => r.TimestampMs < cases[0].Fault.StartMs - 60_000)
        );
        // The case's own records are untouched: from its lead to its end.
        Assert.Equal(
            4 * 60,
            cases[2].Records.OfType<LogRecord>().Count(r => r.Message.StartsWith("minute-2", StringComparison.Ordinal))
        );
    }

    [Fact]
    public void WithoutTheOptionEveryCaseWarmsUpOnTheNormalFilesAlone()
    {
        var (mapping, dir) = Archive(fromLeads: false);
        var cases = new DatasetAdapter(mapping, dir, new MemoryDeadLetterSink()).LoadCases();
        Assert.All(cases, c => Assert.Equal(["normal"], WarmupStretches(c)));
    }
}
