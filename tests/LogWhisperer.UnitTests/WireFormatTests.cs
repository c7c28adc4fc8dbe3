using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using LogWhisperer.Export;
using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

/// <summary>
/// The recorded files read back by their own formats' rules: Loki's push API JSON, OTLP/JSON's
/// ExportTraceServiceRequest, and Prometheus' text exposition format (0.0.4), plus the ground truth.
/// </summary>
public partial class WireFormatTests
{
    private static readonly long T0 = new SimulationOptions().StartMs;

    private static readonly Lazy<(string Dir, ChaosRecording Recording)> Recorded = new(() =>
        Record(5, TestData.TempDir())
    );

    private static (string, ChaosRecording) Record(int seed, string dir)
    {
        var topology = Topology.Load(TestData.TopologyPath("sock-shop"));
        var options = new SimulationOptions
        {
            Cluster = "sock-shop",
            Seed = seed,
            IstioMetrics = true,
            BenignEventsPerHour = 60,
        };
        Fault[] faults =
        [
            new("carts", FaultKind.PodKill, T0 + 40_000, T0 + 80_000, 0.5),
            // odd second: the form that answers 500s itself
            new("payment", FaultKind.BadDeploy, T0 + 61_000, T0 + 110_000, 0.8),
        ];
        var recording = ChaosRecorder
            .RecordToDirectoryAsync(topology, options, faults, T0 + 120_000, dir)
            .GetAwaiter()
            .GetResult();
        return (dir, recording);
    }

    [Fact]
    public void LokiFileIsOnePushRequestPerLineWithNanosecondStringsInOrder()
    {
        var (dir, rec) = Recorded.Value;
        long entries = 0;
        var levels = new HashSet<string>();
        foreach (var line in File.ReadLines(Path.Combine(dir, DirectoryPayloadSink.LokiFile)))
        {
            using var doc = JsonDocument.Parse(line);
            var streams = doc.RootElement.GetProperty("streams");
            Assert.Equal(JsonValueKind.Array, streams.ValueKind);
            foreach (var stream in streams.EnumerateArray())
            {
                var labels = stream.GetProperty("stream");
                Assert.All(labels.EnumerateObject(), l => Assert.Equal(JsonValueKind.String, l.Value.ValueKind));
                Assert.All(labels.EnumerateObject(), l => Assert.Matches("^[a-zA-Z_][a-zA-Z0-9_]*$", l.Name));
                Assert.Equal("sock-shop", labels.GetProperty("cluster").GetString());
                levels.Add(labels.GetProperty("level").GetString()!);
                long previous = 0;
                foreach (var value in stream.GetProperty("values").EnumerateArray())
                {
                    // [ns, line] or, for a line written in a trace, [ns, line, {trace_id, span_id}] (Loki 3 structured
                    // metadata).
                    Assert.InRange(value.GetArrayLength(), 2, 3);
                    if (value.GetArrayLength() == 3)
                        Assert.All(
                            value[2].EnumerateObject(),
                            m =>
                                Assert.True(
                                    m.Name is "trace_id" or "span_id" && m.Value.ValueKind == JsonValueKind.String,
                                    m.Name
                                )
                        );
                    var ns = value[0].GetString()!;
                    Assert.Matches("^[0-9]+$", ns);
                    long t = long.Parse(ns, CultureInfo.InvariantCulture);
                    Assert.InRange(t, T0 * 1_000_000L, (T0 + 121_000) * 1_000_000L);
                    Assert.True(t >= previous, "entries of a stream are in time order");
                    previous = t;
                    Assert.False(string.IsNullOrEmpty(value[1].GetString()));
                    entries++;
                }
            }
        }
        Assert.Equal(rec.Logs, entries);
        Assert.Contains("error", levels);
        Assert.Contains("info", levels);
    }

    [Fact]
    public void OtlpFileIsExportTraceServiceRequestsWithHexIdsAndLinkedParents()
    {
        var (dir, rec) = Recorded.Value;
        var spanIds = new HashSet<(string, string)>();
        var parents = new List<(string Trace, string Parent)>();
        long spans = 0,
            errors = 0;
        var kinds = new HashSet<int>();
        foreach (var line in File.ReadLines(Path.Combine(dir, DirectoryPayloadSink.OtlpFile)))
        {
            using var doc = JsonDocument.Parse(line);
            foreach (var rs in doc.RootElement.GetProperty("resourceSpans").EnumerateArray())
            {
                var attributes = rs.GetProperty("resource")
                    .GetProperty("attributes")
                    .EnumerateArray()
                    .ToDictionary(
                        a => a.GetProperty("key").GetString()!,
                        a => a.GetProperty("value").GetProperty("stringValue").GetString()!
                    );
                Assert.Contains(
                    attributes["service.name"],
                    new[]
                    {
                        "front-end",
                        "catalogue",
                        "catalogue-db",
                        "carts",
                        "carts-db",
                        "orders",
                        "orders-db",
                        "payment",
                        "shipping",
                        "rabbitmq",
                        "queue-master",
                        "user",
                        "user-db",
                    }
                );
                Assert.StartsWith(attributes["service.name"] + "-", attributes["k8s.pod.name"]);
                foreach (var scope in rs.GetProperty("scopeSpans").EnumerateArray())
                {
                    Assert.Equal(OtlpJsonEncoder.ScopeName, scope.GetProperty("scope").GetProperty("name").GetString());
                    foreach (var span in scope.GetProperty("spans").EnumerateArray())
                    {
                        var traceId = span.GetProperty("traceId").GetString()!;
                        var spanId = span.GetProperty("spanId").GetString()!;
                        Assert.Matches("^[0-9a-f]{32}$", traceId);
                        Assert.NotEqual(new string('0', 32), traceId);
                        Assert.Matches("^[0-9a-f]{16}$", spanId);
                        Assert.True(spanIds.Add((traceId, spanId)), "span ids are unique within a trace");
                        if (span.TryGetProperty("parentSpanId", out var parent))
                        {
                            Assert.Matches("^[0-9a-f]{16}$", parent.GetString()!);
                            parents.Add((traceId, parent.GetString()!));
                        }
                        int kind = span.GetProperty("kind").GetInt32();
                        Assert.InRange(kind, 1, 5);
                        kinds.Add(kind);
                        Assert.False(string.IsNullOrEmpty(span.GetProperty("name").GetString()));
                        // 64-bit integers are strings in OTLP/JSON.
                        Assert.Equal(JsonValueKind.String, span.GetProperty("startTimeUnixNano").ValueKind);
                        long start = long.Parse(
                            span.GetProperty("startTimeUnixNano").GetString()!,
                            CultureInfo.InvariantCulture
                        );
                        long end = long.Parse(
                            span.GetProperty("endTimeUnixNano").GetString()!,
                            CultureInfo.InvariantCulture
                        );
                        Assert.True(end >= start);
                        Assert.InRange(start, T0 * 1_000_000L, (T0 + 121_000) * 1_000_000L);
                        var status = span.GetProperty("status");
                        if (status.TryGetProperty("code", out var code))
                        {
                            Assert.Equal(OtlpJsonEncoder.StatusError, code.GetInt32());
                            errors++;
                        }
                        if (kind == 3)
                            Assert.Contains(
                                span.GetProperty("attributes").EnumerateArray(),
                                a => a.GetProperty("key").GetString() == "peer.service"
                            );
                        spans++;
                    }
                }
            }
        }
        Assert.Equal(rec.Spans, spans);
        Assert.Equal(new HashSet<int> { 2, 3 }, kinds); // server and client spans
        Assert.True(errors > 0, "the faults made failed spans");
        // Every parent is a span of the same trace in the file.
        Assert.All(parents, p => Assert.Contains(p, spanIds));
    }

    [GeneratedRegex(
        """^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (\S+) (-?[0-9]+)$"""
    )]
    private static partial Regex SampleLine();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)\x22""")]
    private static partial Regex LabelPair();

    [Fact]
    public void MetricsAreValidExpositionDocumentsWithConsistentHistogramsAndMonotonicCounters()
    {
        var (dir, rec) = Recorded.Value;
        var files = Directory
            .GetFiles(Path.Combine(dir, DirectoryPayloadSink.MetricsDirectory), "*.prom")
            .OrderBy(f => long.Parse(Path.GetFileNameWithoutExtension(f)))
            .ToArray();
        Assert.Equal(120 / 5, files.Length); // one scrape every 5 s
        long samples = 0;
        var lastCounter = new Dictionary<string, double>();
        var familiesSeen = new HashSet<string>();
        foreach (var file in files)
        {
            var types = new Dictionary<string, string>();
            var series = new HashSet<string>();
            var histograms =
                new Dictionary<string, (List<(double Le, double Count)> Buckets, double? Sum, double? Count)>();
            string? currentFamily = null;
            var closedFamilies = new HashSet<string>();
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith("# HELP "))
                    continue;
                if (line.StartsWith("# TYPE "))
                {
                    var parts = line.Split(' ');
                    Assert.Equal(4, parts.Length);
                    Assert.Contains(parts[3], new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                    Assert.True(types.TryAdd(parts[2], parts[3]), $"{parts[2]} typed twice in {file}");
                    if (currentFamily is not null)
                        closedFamilies.Add(currentFamily);
                    currentFamily = parts[2];
                    continue;
                }
                var m = SampleLine().Match(line);
                Assert.True(m.Success, $"not an exposition sample line: {line}");
                string name = m.Groups[1].Value;
                var labels = LabelPair()
                    .Matches(m.Groups[2].Value)
                    .ToDictionary(p => p.Groups[1].Value, p => p.Groups[2].Value);
                double value = m.Groups[3].Value switch
                {
                    "+Inf" => double.PositiveInfinity,
                    "-Inf" => double.NegativeInfinity,
                    var v => double.Parse(v, CultureInfo.InvariantCulture),
                };
                long ts = long.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture);
                Assert.InRange(ts, T0, T0 + 121_000);
                // The sample belongs to the family whose TYPE line came last, and families are not split.
                Assert.NotNull(currentFamily);
                string type = types[currentFamily];
                Assert.True(
                    name == currentFamily
                        || type == "histogram"
                            && name is var n
                            && (
                                n == currentFamily + "_bucket"
                                || n == currentFamily + "_sum"
                                || n == currentFamily + "_count"
                            ),
                    $"{name} under TYPE {currentFamily}"
                );
                Assert.True(
                    series.Add(
                        name
                            + "{"
                            + string.Join(",", labels.OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}"))
                            + "}"
                    ),
                    $"duplicate series {line}"
                );
                Assert.Equal("sock-shop", labels["cluster"]);
                familiesSeen.Add(currentFamily);
                samples++;
                if (type == "histogram")
                {
                    var key = string.Join(
                        ",",
                        labels.Where(l => l.Key != "le").OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}")
                    );
                    if (!histograms.TryGetValue(key, out var h))
                        h = ([], null, null);
                    if (name.EndsWith("_bucket"))
                        h.Buckets.Add(
                            (
                                labels["le"] == "+Inf"
                                    ? double.PositiveInfinity
                                    : double.Parse(labels["le"], CultureInfo.InvariantCulture),
                                value
                            )
                        );
                    else if (name.EndsWith("_sum"))
                        h.Sum = value;
                    else
                        h.Count = value;
                    histograms[key] = h;
                }
                if (type == "counter")
                {
                    Assert.True(value >= 0);
                    var key = name + string.Join(",", labels.OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}"));
                    if (lastCounter.TryGetValue(key, out var before))
                        Assert.True(value >= before, $"counter went down: {line}");
                    lastCounter[key] = value;
                }
            }
            foreach (var (key, h) in histograms)
            {
                Assert.NotNull(h.Sum);
                Assert.NotNull(h.Count);
                Assert.Equal(h.Buckets.Select(b => b.Le).Order(), h.Buckets.Select(b => b.Le));
                for (int i = 1; i < h.Buckets.Count; i++)
                    Assert.True(h.Buckets[i].Count >= h.Buckets[i - 1].Count, $"buckets of {key} decrease");
                Assert.True(double.IsPositiveInfinity(h.Buckets[^1].Le), "a histogram ends with le=\"+Inf\"");
                Assert.Equal(h.Count, h.Buckets[^1].Count);
                Assert.True(h.Sum >= 0);
            }
        }
        Assert.Equal(rec.Metrics, samples);
        Assert.Superset(
            new HashSet<string>
            {
                "container_cpu_usage_seconds_total",
                "container_memory_working_set_bytes",
                "kube_pod_container_status_restarts_total",
                "istio_requests_total",
                "istio_request_duration_milliseconds",
            },
            familiesSeen
        );
    }

    [Fact]
    public void IstioMetricsCarryTheMeshLabelsAndTheFaultsResponseCodes()
    {
        var (dir, _) = Recorded.Value;
        var text = string.Join(
            "\n",
            Directory.GetFiles(Path.Combine(dir, DirectoryPayloadSink.MetricsDirectory)).Select(File.ReadAllText)
        );
        var requests = text.Split('\n').Where(l => l.StartsWith("istio_requests_total{")).ToList();
        Assert.Contains(
            requests,
            l =>
                l.Contains("reporter=\"source\"")
                && l.Contains("source_workload=\"front-end\"")
                && l.Contains("destination_workload=\"carts\"")
                && l.Contains("response_code=\"200\"")
        );
        Assert.Contains(
            requests,
            l => l.Contains("reporter=\"destination\"") && l.Contains("source_workload=\"istio-ingressgateway\"")
        );
        // The killed carts pod: its callers saw 503s; the bad deploy of payment answered 500s.
        Assert.Contains(
            requests,
            l =>
                l.Contains("destination_workload=\"carts\"")
                && l.Contains("response_code=\"503\"")
                && l.Contains("reporter=\"source\"")
        );
        Assert.Contains(
            requests,
            l =>
                l.Contains("destination_workload=\"payment\"")
                && l.Contains("response_code=\"500\"")
                && l.Contains("reporter=\"destination\"")
        );
        Assert.Contains(
            text.Split('\n'),
            l => l.StartsWith("istio_request_duration_milliseconds_bucket{") && l.Contains("le=\"+Inf\"")
        );
    }

    [Fact]
    public void GroundTruthNamesEveryIncidentAndBenignEvent()
    {
        var (dir, rec) = Recorded.Value;
        var entries = GroundTruthEntry.ReadFile(Path.Combine(dir, ChaosRecorder.GroundTruthFile));
        var incidents = entries.Where(e => e.Type == GroundTruthEntry.Incident).ToList();
        Assert.Equal(
            rec.Faults.Select(f => (f.Service, f.Kind.ToString(), f.StartMs, f.EndMs)).Order(),
            incidents.Select(e => (e.Service, e.Kind, e.StartMs, e.EndMs)).Order()
        );
        Assert.Equal(rec.BenignEvents.Count, entries.Count(e => e.Type == GroundTruthEntry.Benign));
        Assert.All(entries, e => Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(e.StartMs), e.Start));
        Assert.Equal(entries.OrderBy(e => e.StartMs).Select(e => e.StartMs), entries.Select(e => e.StartMs));
        Assert.Equal("sock-shop", Topology.Load(Path.Combine(dir, ChaosRecorder.TopologyFile)).Name);
    }

    [Fact]
    public void SameSeedWritesByteIdenticalFilesAndAnotherSeedDoesNot()
    {
        var (a, _) = Record(9, TestData.TempDir());
        var (b, _) = Record(9, TestData.TempDir());
        var (c, _) = Record(10, TestData.TempDir());
        var hashesA = Hashes(a);
        Assert.True(hashesA.Count > 20);
        Assert.Equal(hashesA, Hashes(b));
        var hashesC = Hashes(c);
        Assert.NotEqual(hashesA[DirectoryPayloadSink.OtlpFile], hashesC[DirectoryPayloadSink.OtlpFile]);
        Assert.NotEqual(hashesA[DirectoryPayloadSink.LokiFile], hashesC[DirectoryPayloadSink.LokiFile]);
    }

    private static SortedDictionary<string, string> Hashes(string dir) =>
        new(
            Directory
                .GetFiles(dir, "*", SearchOption.AllDirectories)
                .ToDictionary(
                    f => Path.GetRelativePath(dir, f),
                    f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))
                ),
            StringComparer.Ordinal
        );
}
