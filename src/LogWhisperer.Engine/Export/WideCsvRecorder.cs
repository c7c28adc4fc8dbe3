using System.Globalization;
using System.Text;
using System.Text.Json;
using LogWhisperer.Changes;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Export;

/// <summary>
/// Records a simulated mesh the way many incident archives and monitoring exports look: no logs and no traces,
/// only metrics summarised per interval — one wide CSV (a column per service × metric, e.g.
/// <c>cartservice__latency_ms_p95</c>), one CSV per call edge (<c>edges/caller__callee.csv</c>), the static call
/// graph (<c>topology.csv</c>), the changes (<c>changes.jsonl</c>, generic format) and the fault list
/// (<c>faults.json</c>). The shipped mapping <c>datasets/chaos-wide.json</c> replays it.
/// </summary>
public static class WideCsvRecorder
{
    public const string MetricsFile = "metrics.csv",
        TopologyFile = "topology.csv",
        ChangesFile = "changes.jsonl",
        FaultsFile = "faults.json",
        EdgeFolder = "edges";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private const string IsoMs = "yyyy-MM-ddTHH:mm:ss.fffZ";

    private sealed class Interval
    {
        public long Requests,
            Errors;
        public readonly List<double> Latency = [];
        public double CpuTotal = double.NaN,
            MemoryBytes = double.NaN;
    }

    public static async Task<ChaosRecording> RecordAsync(
        Topology topology,
        SimulationOptions options,
        IReadOnlyList<Fault> faults,
        long endMs,
        string directory,
        int intervalSeconds = 15,
        CancellationToken cancellationToken = default,
        IProgress<RecordingProgress>? progress = null
    )
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(Path.Combine(directory, EdgeFolder));
        var simulator = new ChaosSimulator(topology, options, faults);
        var services = topology.ServiceNames.ToArray();
        var edges = topology
            .DeclaredEdges()
            .OrderBy(e => e.From, StringComparer.Ordinal)
            .ThenBy(e => e.To, StringComparer.Ordinal)
            .ToArray();
        var serviceStats = services.ToDictionary(s => s, _ => new Interval());
        var edgeStats = edges.ToDictionary(e => e, _ => new Interval());
        var lastCpu = new Dictionary<string, double>();
        string[] metricColumns =
        [
            "requests_per_s",
            "errors_pct",
            "latency_ms_avg",
            "latency_ms_p95",
            "cpu_millicores",
            "memory_mib",
        ];

        await using var wide = new StreamWriter(Path.Combine(directory, MetricsFile));
        await wide.WriteLineAsync(
            "time," + string.Join(',', services.SelectMany(s => metricColumns.Select(m => $"{s}__{m}")))
        );
        var edgeWriters = edges.ToDictionary(
            e => e,
            e => new StreamWriter(Path.Combine(directory, EdgeFolder, $"{e.From}__{e.To}.csv"))
        );
        foreach (var w in edgeWriters.Values)
            await w.WriteLineAsync("time,calls_per_s,errors_pct,latency_p95_ms");
        long logs = 0,
            metrics = 0,
            spans = 0,
            next = options.StartMs + intervalSeconds * 1000L;

        while (simulator.NowMs < endMs && !cancellationToken.IsCancellationRequested)
        {
            foreach (var r in simulator.NextSecond())
                switch (r)
                {
                    case LogRecord:
                        logs++;
                        break;
                    case SpanRecord { Kind: SpanKind.Server } s:
                        spans++;
                        var i = serviceStats[s.Service];
                        i.Requests++;
                        if (s.IsError)
                            i.Errors++;
                        i.Latency.Add(s.DurationMs);
                        break;
                    case SpanRecord { Kind: SpanKind.Client, PeerService: { } peer } c
                        when edgeStats.TryGetValue((c.Service, peer), out var e):
                        spans++;
                        e.Requests++;
                        if (c.IsError)
                            e.Errors++;
                        e.Latency.Add(c.DurationMs);
                        break;
                    case SpanRecord:
                        spans++;
                        break;
                    case MetricSample m:
                        metrics++;
                        if (m.Name == "container_cpu_usage_seconds_total")
                            serviceStats[m.Service].CpuTotal = m.Value;
                        else if (m.Name == "container_memory_working_set_bytes")
                            serviceStats[m.Service].MemoryBytes = m.Value;
                        break;
                }
            if ((simulator.NowMs - options.StartMs) % 60_000 == 0)
                progress?.Report(
                    new RecordingProgress(
                        simulator.NowMs - options.StartMs,
                        endMs - options.StartMs,
                        logs + metrics + spans
                    )
                );
            if (simulator.NowMs < next)
                continue;
            // One row per interval: what a monitoring export summarises (blank where a service said nothing).
            string time = DateTimeOffset.FromUnixTimeMilliseconds(next).ToString("yyyy-MM-ddTHH:mm:ssZ", Inv);
            var row = new StringBuilder(time);
            foreach (var s in services)
            {
                var i = serviceStats[s];
                double cpu = double.NaN;
                if (!double.IsNaN(i.CpuTotal))
                {
                    if (lastCpu.TryGetValue(s, out var before))
                        cpu = (i.CpuTotal - before) / intervalSeconds * 1000;
                    lastCpu[s] = i.CpuTotal;
                }
                row.Append(',')
                    .Append(Num(i.Requests / (double)intervalSeconds))
                    .Append(',')
                    .Append(i.Requests > 0 ? Num(100.0 * i.Errors / i.Requests) : "")
                    .Append(',')
                    .Append(i.Latency.Count > 0 ? Num(i.Latency.Average()) : "")
                    .Append(',')
                    .Append(i.Latency.Count > 0 ? Num(Quantile(i.Latency, 0.95)) : "")
                    .Append(',')
                    .Append(Num(cpu))
                    .Append(',')
                    .Append(Num(i.MemoryBytes / 1048576));
                serviceStats[s] = new Interval { CpuTotal = i.CpuTotal };
            }
            await wide.WriteLineAsync(row.ToString());
            foreach (var e in edges)
            {
                var i = edgeStats[e];
                await edgeWriters[e]
                    .WriteLineAsync(
                        $"{time},{Num(i.Requests / (double)intervalSeconds)},{(i.Requests > 0 ? Num(100.0 * i.Errors / i.Requests) : "")},{(i.Latency.Count > 0 ? Num(Quantile(i.Latency, 0.95)) : "")}"
                    );
                edgeStats[e] = new Interval();
            }
            next += intervalSeconds * 1000L;
        }
        foreach (var w in edgeWriters.Values)
            await w.DisposeAsync();
        await wide.FlushAsync(cancellationToken);

        await File.WriteAllLinesAsync(
            Path.Combine(directory, TopologyFile),
            ["caller,callee", .. edges.Select(e => $"{e.From},{e.To}")],
            cancellationToken
        );
        await File.WriteAllLinesAsync(
            Path.Combine(directory, ChangesFile),
            simulator.Changes.Select(Generic),
            cancellationToken
        );
        var faultList = faults.Select(f => new
        {
            service = f.Service,
            kind = f.Kind.ToString(),
            start = DateTimeOffset.FromUnixTimeMilliseconds(f.StartMs).ToString(IsoMs, Inv),
            end = DateTimeOffset.FromUnixTimeMilliseconds(f.EndMs).ToString(IsoMs, Inv),
        });
        await File.WriteAllTextAsync(
            Path.Combine(directory, FaultsFile),
            JsonSerializer.Serialize(faultList, new JsonSerializerOptions { WriteIndented = true }),
            cancellationToken
        );
        return new ChaosRecording(
            logs,
            metrics,
            spans,
            new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length),
            simulator.NowMs - options.StartMs,
            clock.Elapsed,
            faults,
            simulator.BenignEvents.ToList()
        );
    }

    /// <summary>A change as generic JSON: {time, service, kind, version, fromVersion, description}.</summary>
    public static string Generic(ChangeEvent c) =>
        JsonSerializer.Serialize(
            new
            {
                time = DateTimeOffset.FromUnixTimeMilliseconds(c.TimestampMs).ToString(IsoMs, Inv),
                service = c.Service,
                kind = c.Kind.ToString().ToLowerInvariant(),
                version = c.ToVersion,
                fromVersion = c.FromVersion,
                description = c.Description,
            },
            new JsonSerializerOptions
            {
                DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
            }
        );

    private static string Num(double v) => double.IsFinite(v) ? Math.Round(v, 3).ToString(Inv) : "";

    private static double Quantile(List<double> values, double q)
    {
        values.Sort();
        return values[Math.Min(values.Count - 1, (int)Math.Ceiling(q * values.Count) - 1)];
    }
}
