using BenchmarkDotNet.Attributes;
using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;
using static TorchSharp.torch;

namespace LogWhisperer.Benchmarks;

/// <summary>Windowing (assignment + accumulation incl. span assembly) of one simulated minute of a 50-service
/// mesh.</summary>
[MemoryDiagnoser]
public class WindowingBenchmark
{
    private List<TelemetryRecord> _minute = [];

    [GlobalSetup]
    public void Setup()
    {
        var sim = new ChaosSimulator(SyntheticTopology.Generate(50, 1, 200), new SimulationOptions());
        _minute = sim.RunUntil(sim.NowMs + 60_000).SelectMany(b => b).ToList();
    }

    [Benchmark(Description = "window one minute (records/op = count)")]
    public int WindowOneMinute()
    {
        var windower = new EventTimeWindower(new WindowOptions(), new PipelineCounters(), new MemoryDeadLetterSink());
        var closed = new List<WindowAggregate>();
        windower.Add(_minute, closed);
        windower.Flush(closed);
        return closed.Count;
    }

    public int Records => _minute.Count;
}

/// <summary>
/// The simulator's own speed: one simulated minute of a 50-service mesh at 200 req/s, in memory, and
/// recorded as `chaos run` does (Istio metrics on, every batch encoded to Loki, Prometheus and OTLP payloads).
/// </summary>
[MemoryDiagnoser]
public class SimulatorBenchmark
{
    private Topology _topology = null!;

    [GlobalSetup]
    public void Setup() => _topology = SyntheticTopology.Generate(50, 1, 200);

    [Benchmark]
    public int SimulateOneMinute()
    {
        var sim = new ChaosSimulator(_topology, new SimulationOptions());
        int n = 0;
        foreach (var b in sim.RunUntil(sim.NowMs + 60_000))
            n += b.Count;
        return n;
    }

    [Benchmark]
    public long RecordOneMinute()
    {
        var options = new SimulationOptions { IstioMetrics = true };
        return Export
            .ChaosRecorder.RecordAsync(_topology, options, [], options.StartMs + 60_000, new SimulatorSpeed.NullSink())
            .GetAwaiter()
            .GetResult()
            .Bytes;
    }
}

/// <summary>GAT forward pass: a batch of snapshots scored in one block-diagonal pass.</summary>
public class ScoringBenchmark
{
    private GatScorer _scorer = null!;
    private GraphSnapshot[] _batch = [];

    [Params(100, 1000)]
    public int Nodes;

    [Params(1, 32)]
    public int Graphs;

    [GlobalSetup]
    public void Setup()
    {
        manual_seed(1);
        var device = ComputeDevice.Select();
        _scorer = new GatScorer(new GatModel(new GatConfig()), device);
        _batch = Enumerable.Range(0, Graphs).Select(g => RandomSnapshot(Nodes, g)).ToArray();
    }

    [Benchmark]
    public int Score() => _scorer.Score(_batch).Length;

    internal static GraphSnapshot RandomSnapshot(int nodes, int seed)
    {
        var rng = new Random(seed);
        int f = FeatureSchema.NodeFeatureCount,
            m = FeatureSchema.MeasurementCount,
            me = FeatureSchema.EdgeMeasurements;
        var edges = new List<(int, int)>();
        for (int i = 1; i < nodes; i++)
        for (int k = 0; k < 2; k++)
            edges.Add((rng.Next(i), i)); // ~2 callers each
        var w = new WindowFeatures(
            "bench",
            0,
            30_000,
            Enumerable.Range(0, nodes).Select(i => $"s{i}").ToArray(),
            new double[nodes * m],
            new double[nodes * m],
            Enumerable.Range(0, nodes * f).Select(_ => (float)rng.NextDouble()).ToArray(),
            new string?[nodes],
            edges.ToArray(),
            new double[edges.Count * me],
            Enumerable.Range(0, edges.Count * me).Select(_ => (float)rng.NextDouble()).ToArray(),
            false
        );
        return GraphSnapshot.From(w);
    }
}
