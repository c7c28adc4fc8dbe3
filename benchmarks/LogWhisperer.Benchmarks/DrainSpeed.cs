using LogWhisperer.Features.Logs;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// `drain-speed [rounds]`: steady-state lines/s of the template miner on each Loghub 2k sample and on one simulated
/// minute of a 50-service mesh, the best of several rounds. On a shared, loaded machine the best round is a far
/// steadier estimate of one free core than BenchmarkDotNet's mean (whose error bars there exceed the means).
/// </summary>
internal static class DrainSpeed
{
    public static int Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0]) : 15;
        var root =
            Environment.GetEnvironmentVariable("LOGHUB_2K")
            ?? Path.Combine(RepoRoot(), "..", "shared", "data", "loghub-2k");
        foreach (var system in LoghubEvaluation.PublishedDrain.Keys.Where(s => Directory.Exists(Path.Combine(root, s))))
        {
            var lines = LoghubEvaluation.Load(root, system).Contents.ToArray();
            var parser = new DrainParser();
            Report(
                system,
                lines.Length,
                rounds,
                () =>
                {
                    foreach (var l in lines)
                        parser.Parse(l);
                },
                () => parser.TemplateCount
            );
        }
        var sim = new ChaosSimulator(
            SyntheticTopology.Generate(50, 1, 200),
            new SimulationOptions(),
            [new Fault("svc-0007", FaultKind.BadDeploy, 0, long.MaxValue, 1.0)]
        );
        var mesh = sim.RunUntil(sim.NowMs + 60_000)
            .SelectMany(b => b)
            .OfType<LogRecord>()
            .Select(l => (l.Service, l.Message))
            .ToArray();
        var miner = new TemplateMiner();
        Report(
            "mesh",
            mesh.Length,
            rounds,
            () =>
            {
                foreach (var (s, m) in mesh)
                    miner.Parse(s, m, out _);
            },
            () => miner.Parsers.Values.Sum(p => p.TemplateCount)
        );
        return 0;
    }

    private static void Report(string name, int lines, int rounds, Action parseAll, Func<int> templates)
    {
        // Warm for a second, not a round: tiered JIT promotes hot code in the background about 100 ms after it gets
        // hot, and a 2k sample parses in under a millisecond, so a round-counted warm-up measures unoptimized code.
        var warm = System.Diagnostics.Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 1000)
            parseAll(); // and every later line matches a known template
        double best = double.MaxValue;
        for (int r = 0; r < rounds; r++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int k = 0; k < 5; k++)
                parseAll();
            best = Math.Min(best, clock.Elapsed.TotalSeconds / 5);
        }
        Console.WriteLine(
            $"{name, -10} {lines, 7} lines {templates(), 6} templates {lines / best / 1e6, 7:F2} M lines/s"
        );
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LogWhisperer.sln")))
                return dir.FullName;
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
