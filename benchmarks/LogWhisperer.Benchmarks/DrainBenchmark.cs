using BenchmarkDotNet.Attributes;
using LogWhisperer.Features.Logs;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// Drain template mining on typical service logs: the log lines of one simulated minute of a 50-service mesh
/// (access lines with ids and durations, rpc errors, stack traces, GC pauses), one parser per service as in
/// the engine. The parsers are warmed on the same lines first, so this measures steady state (matching, not
/// founding templates). Lines/s = Lines / mean time per op.
/// </summary>
[MemoryDiagnoser]
public class DrainBenchmark
{
    private (string Service, string Message)[] _lines = [];
    private TemplateMiner _miner = null!;

    [GlobalSetup]
    public void Setup()
    {
        var sim = new ChaosSimulator(SyntheticTopology.Generate(50, 1, 200), new SimulationOptions(),
            [new Fault("svc-0007", FaultKind.BadDeploy, 0, long.MaxValue, 1.0)]);
        _lines = sim.RunUntil(sim.NowMs + 60_000).SelectMany(b => b).OfType<LogRecord>().Select(l => (l.Service, l.Message)).ToArray();
        _miner = new TemplateMiner();
        ParseAll();
        Console.WriteLine($"// {_lines.Length} lines, {_miner.Parsers.Values.Sum(p => p.TemplateCount)} templates over {_miner.Parsers.Count} services");
    }

    public int Lines => _lines.Length;

    [Benchmark(Description = "parse one simulated minute of logs (lines/op = Lines)")]
    public int ParseAll()
    {
        int sum = 0;
        foreach (var (service, message) in _lines) sum += _miner.Parse(service, message, out _).Id;
        return sum;
    }
}
