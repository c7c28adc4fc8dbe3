using System.CommandLine;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;

namespace LogWhisperer.Cli.Commands;

/// <summary>Options and helpers shared by the commands.</summary>
internal static class CliSupport
{
    public static string AppDirectory => AppContext.BaseDirectory;
    public static string DefaultModelPath => Path.Combine(AppDirectory, "models", "gat-default.lwm");

    public static Option<string> TopologyOption() => new("--topology", "-t")
    {
        Description = "Topology file, or the name of one shipped in topologies/ (online-boutique)",
        DefaultValueFactory = _ => "online-boutique",
    };

    public static Option<string> ModelOption() => new("--model", "-m")
    {
        Description = "Model file (default: the model shipped with LogWhisperer)",
        DefaultValueFactory = _ => DefaultModelPath,
    };

    public static Option<string> DeviceOption() => new("--device")
    {
        Description = "auto (CUDA when available), cpu or cuda",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<int> SeedOption(int value) => new("--seed", "-s") { Description = "Random seed (same seed, same run)", DefaultValueFactory = _ => value };

    public static string DefaultEdgelessModelPath => Path.Combine(AppDirectory, "models", "gat-edgeless.lwm");

    /// <summary>A topology file, a shipped topology's name, or "synthetic:N[:seed]" for a generated mesh of N services.</summary>
    public static Topology LoadTopology(string nameOrPath)
    {
        if (nameOrPath.StartsWith("synthetic:", StringComparison.Ordinal))
        {
            var parts = nameOrPath.Split(':');
            if (parts.Length is < 2 or > 3 || !int.TryParse(parts[1], out int n) || (parts.Length == 3 && !int.TryParse(parts[2], out _)))
                throw new ArgumentException($"'{nameOrPath}' is not synthetic:SERVICES[:SEED]");
            // Modest traffic keeps simulation cheap for training; the mesh shape is what varies.
            return SyntheticTopology.Generate(n, parts.Length == 3 ? int.Parse(parts[2]) : 1, requestsPerSecond: 15);
        }
        if (File.Exists(nameOrPath)) return Topology.Load(nameOrPath);
        foreach (var dir in new[] { Path.Combine(AppDirectory, "topologies"), Path.Combine(Directory.GetCurrentDirectory(), "topologies") })
        {
            var candidate = Path.Combine(dir, nameOrPath.EndsWith(".json") ? nameOrPath : nameOrPath + ".json");
            if (File.Exists(candidate)) return Topology.Load(candidate);
        }
        throw new FileNotFoundException($"no topology file or shipped topology named '{nameOrPath}'");
    }

    public static GatScorer LoadScorer(string modelPath, string device)
    {
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"model '{modelPath}' not found; train one with `logwhisperer train --out {modelPath}`");
        var d = ComputeDevice.Select(device);
        return new GatScorer(GatModel.Load(modelPath, d), d);
    }

    /// <summary>The baselines every evaluation reports: robust z-scores, and the edge-ablated network when its model exists.</summary>
    public static List<IRootCauseRanker> Baselines(string edgelessModel, string device)
    {
        var baselines = new List<IRootCauseRanker> { new RobustZScoreRanker() };
        if (edgelessModel != "none") baselines.Add(new GatRanker("GAT without edges", LoadScorer(edgelessModel, device)));
        baselines.Add(new ErrorLogDeltaRanker());
        baselines.Add(new TraceSpectrumRanker());
        return baselines;
    }

    /// <summary>
    /// The fault kinds a model was trained to name: demo and eval draw their incidents from these, so a model
    /// trained before a kind was added is judged on what it knows (and its plans stay reproducible).
    /// </summary>
    public static FaultKind[] KindsOf(GatScorer scorer)
    {
        var kinds = scorer.Model.Config.FaultKinds.Select(n => Enum.TryParse<FaultKind>(n, out var k) ? k : (FaultKind?)null)
            .OfType<FaultKind>().ToArray();
        return kinds.Length > 0 ? kinds : IncidentPlan.AllKinds;
    }

    /// <summary>First Ctrl-C: stop reading and drain. Second: abort.</summary>
    public static (CancellationTokenSource Stop, CancellationTokenSource Abort) CtrlC(TextWriter log)
    {
        var stop = new CancellationTokenSource();
        var abort = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            if (!stop.IsCancellationRequested) { log.WriteLine("stopping: draining in-flight windows (Ctrl-C again to abort)"); stop.Cancel(); }
            else abort.Cancel();
        };
        return (stop, abort);
    }

    /// <summary>Runs a command body, turning expected failures into one clear line and exit code 1.</summary>
    public static async Task<int> Guard(Func<Task<int>> body)
    {
        try { return await body(); }
        catch (Configuration.SettingsException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException or InvalidOperationException or HttpRequestException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("aborted");
            return 130;
        }
    }
}
