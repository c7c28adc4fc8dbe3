using System.Diagnostics;
using LogWhisperer.Pipeline;
using LogWhisperer.Simulation;
using LogWhisperer.Sources.Datasets;
using LogWhisperer.Telemetry;
using Xunit.Abstractions;

namespace LogWhisperer.Tests;

public sealed class NezhaData : IDisposable
{
    public string? Root { get; }
    public string? SkipReason { get; }

    public NezhaData()
    {
        var archive = Path.GetFullPath(
            Path.Combine(
                TestData.RepoRoot,
                "..",
                "shared",
                "data",
                "nezha-trainticket",
                "trainticket-2023-01-29.tar.xz"
            )
        );
        if (!File.Exists(archive))
        {
            SkipReason = $"skipped: {archive} not found (CI has ../shared/data)";
            return;
        }
        Root = TestData.TempDir();
        using var tar = Process.Start(new ProcessStartInfo("tar", ["-xJf", archive, "-C", Root]))!;
        tar.WaitForExit();
        if (tar.ExitCode != 0)
            throw new InvalidOperationException($"tar failed with {tar.ExitCode}");
    }

    public void Dispose()
    {
        if (Root is not null)
            Directory.Delete(Root, true);
    }
}

/// <summary>The real-data adapter on the Nezha Train-Ticket data in ../shared/data (skipped, visibly, when
/// absent).</summary>
public class NezhaDatasetTests(NezhaData data, ITestOutputHelper output) : IClassFixture<NezhaData>
{
    private static DatasetMapping Mapping() =>
        DatasetMapping.Load(Path.Combine(AppContext.BaseDirectory, "datasets", "nezha-trainticket.json"));

    private bool Absent()
    {
        if (data.Root is not null)
            return false;
        output.WriteLine(data.SkipReason);
        Console.WriteLine(data.SkipReason);
        return true;
    }

    [Fact]
    public void FaultListIsReadAsUtcWithServicesAndKindsMapped()
    {
        if (Absent())
            return;
        var faults = new DatasetAdapter(Mapping(), data.Root!, new MemoryDeadLetterSink()).LoadFaults();
        Assert.Equal(28, faults.Count);
        // inject_time, not the 8 h-off timestamp
        Assert.Equal(DateTimeOffset.Parse("2023-01-29T08:43:04Z").ToUnixTimeMilliseconds(), faults[0].StartMs);
        Assert.Equal("ts-contacts-service", faults[0].Service);
        Assert.Equal(FaultKind.BadDeploy, faults[0].Kind);
        Assert.Equal(4, faults.Count(f => f.Kind == FaultKind.CpuHog));
        Assert.Equal(13, faults.Count(f => f.Kind == FaultKind.Errors));
        Assert.All(faults, f => Assert.StartsWith("ts-", f.Service));
    }

    [Fact]
    public void CasesCarryAllThreeModalitiesWithCallerSideSpansAndMalformedRowsDeadLettered()
    {
        if (Absent())
            return;
        var dlq = new MemoryDeadLetterSink();
        var adapter = new DatasetAdapter(Mapping(), data.Root!, dlq);
        var cases = adapter.LoadCases();
        Assert.Equal(28, cases.Count);
        var first = cases[0];
        Assert.All(first.Records, r => Assert.Equal(first.Cluster, r.Cluster));
        Assert.True(
            first.Records.Zip(first.Records.Skip(1)).All(p => p.First.TimestampMs <= p.Second.TimestampMs),
            "records are in event-time order"
        );
        Assert.True(
            first.Records[0].TimestampMs < first.Fault.StartMs - 5 * 60_000 + 1000,
            "the warm-up precedes the case"
        );
        var spans = first.Records.OfType<SpanRecord>().ToList();
        Assert.Contains(
            spans,
            s => s.Kind == SpanKind.Client && s.Service == "ts-gateway-service" && s.PeerService is not null
        );
        Assert.DoesNotContain(spans, s => s.Kind == SpanKind.Client && s.PeerService == s.Service);
        Assert.Contains(first.Records.OfType<LogRecord>(), l => l.Service == "ts-contacts-service");
        var cpu = first
            .Records.OfType<MetricSample>()
            .Where(m => m.Service == "ts-route-service" && m.Name == "container_cpu_usage_seconds_total")
            .Select(m => m.Value)
            .ToList();
        Assert.True(
            cpu.Count >= 5 && cpu.Zip(cpu.Skip(1)).All(p => p.Second >= p.First),
            "CPU rate integrated into a monotonic counter"
        );
        // The export holds at least one malformed row (two log lines fused); it is kept, with its reason.
        Assert.True(adapter.RowsRejected >= 1);
        Assert.Contains(dlq.Letters, l => l.Stage == "dataset" && l.Reason.Contains("fields"));
    }

    [Fact]
    public async Task EveryCaseIsReplayedThroughThePipelineAndRankedByTheModelEveryBaselineAndEachFeature()
    {
        if (Absent())
            return;
        var cpu = TorchSharp.torch.CPU;
        var scorer = new Scoring.GatScorer(Scoring.GatModel.Load(TestData.ShippedModel, cpu), cpu);
        Scoring.IRootCauseRanker[] baselines =
        [
            new Scoring.RobustZScoreRanker(),
            new Scoring.GatRanker(
                "GAT without edges",
                new Scoring.GatScorer(Scoring.GatModel.Load(TestData.ShippedEdgelessModel, cpu), cpu)
            ),
            new Scoring.ErrorLogDeltaRanker(),
            new Scoring.TraceSpectrumRanker(),
        ];
        var result = await new Evaluation.DatasetReplay(Mapping(), data.Root!).RunAsync(
            scorer,
            baselines,
            perFeature: true
        );
        output.WriteLine(Cli.Commands.ConsoleOutput.ToText(c => Cli.Commands.ConsoleOutput.Ranking(c, result.Ranking)));
        output.WriteLine(
            Cli.Commands.ConsoleOutput.ToText(c =>
                Cli.Commands.ConsoleOutput.Ranking(c, result.PerFeature!, perKind: false)
            )
        );

        Assert.Equal(28, result.Cases);
        Assert.Equal(28, result.Ranking.Incidents.Count); // every case has a window to judge
        Assert.Equal(
            [
                "GAT zero-shot",
                "robust z-score (BARO/N-Sigma)",
                "GAT without edges",
                "error-log delta",
                "trace spectrum",
            ],
            result.Ranking.Methods
        );
        // 46 services (+1: absent)
        Assert.All(result.Ranking.Incidents, r => Assert.All(r.Ranks, rank => Assert.InRange(rank, 1, 47)));
        var features = result.PerFeature!;
        Assert.Equal(1 + Features.FeatureSchema.NodeFeatureCount, features.Methods.Count);
        // Regression floors, well below the figures in docs/evaluation.md: the engine and the trace evidence must keep
        // finding the injected service near the top on this data.
        var methods = result.Ranking.Methods.ToList();
        foreach (var (method, floor) in ReplayFloors)
        {
            double ac3 = result.Ranking.AccuracyAt(methods.IndexOf(method), 3);
            Assert.True(ac3 >= floor, $"{method} AC@3 {ac3:0.000} fell below its floor {floor}");
        }
        // Trace linkage and cut-short spans are in use: the deepest anomalies point at the roots (reported AC@3 0.857).
        int deepest = features.Methods.ToList().IndexOf("deepest_anomaly_share");
        Assert.True(
            features.AccuracyAt(deepest, 3) >= 0.45,
            $"deepest_anomaly_share AC@3 {features.AccuracyAt(deepest, 3):0.00}"
        );
    }

    /// <summary>AC@3 floors for the replay (about half of each method's reported figure, rounded down).</summary>
    private static readonly (string Method, double Floor)[] ReplayFloors =
    [
        ("GAT zero-shot", 0.35), // reported 0.750 (4-window judgement, lw-features/5 model)
        ("error-log delta", 0.25), // reported 0.536
        ("trace spectrum", 0.4), // reported 0.821 (spans cut short count as anomalous)
    ];
}
