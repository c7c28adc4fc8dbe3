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
        var sim = new ChaosSimulator(
            SyntheticTopology.Generate(50, 1, 200),
            new SimulationOptions(),
            [new Fault("svc-0007", FaultKind.BadDeploy, 0, long.MaxValue, 1.0)]
        );
        _lines = sim.RunUntil(sim.NowMs + 60_000)
            .SelectMany(b => b)
            .OfType<LogRecord>()
            .Select(l => (l.Service, l.Message))
            .ToArray();
        _miner = new TemplateMiner();
        ParseAll();
        Console.WriteLine(
            $"// {_lines.Length} lines, "
                + $"{_miner.Parsers.Values.Sum(p => p.TemplateCount)} templates over {_miner.Parsers.Count} services"
        );
    }

    public int Lines => _lines.Length;

    [Benchmark(Description = "parse one simulated minute of logs (lines/op = Lines)")]
    public int ParseAll()
    {
        int sum = 0;
        foreach (var (service, message) in _lines)
            sum += _miner.Parse(service, message, out _).Id;
        return sum;
    }
}

/// <summary>
/// Drain on each of Loghub's labelled 2k samples (../shared/data/loghub-2k beside the repository, or the
/// directory in LOGHUB_2K): the parser is warmed on the sample first, so this measures steady state — every line
/// matched to a known template, as in a long-running stream. Lines/s = 2000 / mean time per op.
/// </summary>
[MemoryDiagnoser]
public class LoghubDrainBenchmark
{
    private string[] _lines = [];
    private DrainParser _parser = null!;

    [Params("HDFS", "BGL", "Apache", "Hadoop", "Spark", "Zookeeper", "OpenSSH", "HealthApp")]
    public string Sample { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var root =
            Environment.GetEnvironmentVariable("LOGHUB_2K")
            ?? Path.Combine(RepoRoot(), "..", "shared", "data", "loghub-2k");
        _lines = LoghubEvaluation.Load(root, Sample).Contents.ToArray();
        _parser = new DrainParser();
        ParseAll();
        Console.WriteLine($"// {Sample}: {_lines.Length} lines, {_parser.TemplateCount} templates");
    }

    [Benchmark(Description = "parse a Loghub 2k sample (steady state; lines/op = 2000)")]
    public int ParseAll()
    {
        int sum = 0;
        foreach (var line in _lines)
            sum += _parser.Parse(line).Id;
        return sum;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LogWhisperer.sln")))
                return dir.FullName;
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
