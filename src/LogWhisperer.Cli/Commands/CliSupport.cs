using System.CommandLine;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;

namespace LogWhisperer.Cli.Commands;

/// <summary>Options and helpers shared by the commands.</summary>
internal static class CliSupport
{
    public static string AppDirectory => AppContext.BaseDirectory;
    public static string DefaultModelPath => Path.Combine(AppDirectory, "models", "gat-default.lwm");

    public static Option<string> TopologyOption() =>
        new("--topology", "-t")
        {
            Description = "Topology file, or the name of one shipped in topologies/ (online-boutique)",
            DefaultValueFactory = _ => "online-boutique",
        };

    public static Option<string> ModelOption() =>
        new("--model", "-m")
        {
            Description = "Model file (default: the model shipped with LogWhisperer)",
            DefaultValueFactory = _ => DefaultModelPath,
        };

    public static Option<string> DeviceOption() =>
        new("--device") { Description = "auto (CUDA when available), cpu or cuda", DefaultValueFactory = _ => "auto" };

    public static Option<int> JudgeWindowsOption() =>
        new Option<int>("--judge-windows")
        {
            Description =
                "Judge each incident on this many of its windows (every method's scores summed per service, "
                + "as the incident's root is settled); 1 = the first alarm alone",
            DefaultValueFactory = _ => new Evaluation.IncidentJudgement().Windows,
        }.AtLeast(1);

    public static Option<int> SeedOption(int value) =>
        new("--seed", "-s") { Description = "Random seed (same seed, same run)", DefaultValueFactory = _ => value };

    /// <summary>Refuses a value below <paramref name="min"/> at parse time (exit 2, one line), instead of running with
    /// it.</summary>
    public static Option<int> AtLeast(this Option<int> option, int min)
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is var v && v < min)
                r.AddError($"invalid value {v} for {option.Name}: expected a whole number ≥ {min}");
        });
        return option;
    }

    /// <summary>Refuses a value outside [min, max] (or not finite) at parse time.</summary>
    public static Option<double> Within(this Option<double> option, double min, double max = double.PositiveInfinity)
    {
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<double>();
            if (!double.IsFinite(v) || v < min || v > max)
                r.AddError(
                    $"invalid value {v.ToString(System.Globalization.CultureInfo.InvariantCulture)} for {option.Name}: expected a number {(double.IsPositiveInfinity(max) ? $"≥ {min}" : $"from {min} to {max}")}"
                );
        });
        return option;
    }

    public static string DefaultEdgelessModelPath => Path.Combine(AppDirectory, "models", "gat-edgeless.lwm");

    /// <summary>A topology file, a shipped topology's name, or "synthetic:N[:seed]" for a generated mesh of N
    /// services.</summary>
    public static Topology LoadTopology(string nameOrPath)
    {
        if (nameOrPath.StartsWith("synthetic:", StringComparison.Ordinal))
        {
            var parts = nameOrPath.Split(':');
            if (
                parts.Length is < 2 or > 3
                || !int.TryParse(parts[1], out int n)
                || (parts.Length == 3 && !int.TryParse(parts[2], out _))
            )
                throw new ArgumentException($"'{nameOrPath}' is not synthetic:SERVICES[:SEED]");
            // Modest traffic keeps simulation cheap for training; the mesh shape is what varies.
            return SyntheticTopology.Generate(n, parts.Length == 3 ? int.Parse(parts[2]) : 1, requestsPerSecond: 15);
        }
        if (File.Exists(nameOrPath))
            return Topology.Load(nameOrPath);
        foreach (
            var dir in new[]
            {
                Path.Combine(AppDirectory, "topologies"),
                Path.Combine(Directory.GetCurrentDirectory(), "topologies"),
            }
        )
        {
            var candidate = Path.Combine(dir, nameOrPath.EndsWith(".json") ? nameOrPath : nameOrPath + ".json");
            if (File.Exists(candidate))
                return Topology.Load(candidate);
        }
        throw new FileNotFoundException($"no topology file or shipped topology named '{nameOrPath}'");
    }

    public static GatScorer LoadScorer(string modelPath, string device)
    {
        if (!File.Exists(modelPath))
            throw new FileNotFoundException(
                $"model '{modelPath}' not found; train one with `logwhisperer train --out {modelPath}`"
            );
        var d = ComputeDevice.Select(device);
        return new GatScorer(GatModel.Load(modelPath, d), d);
    }

    /// <summary>The baselines every evaluation reports: robust z-scores, and the edge-ablated network when its model
    /// exists.</summary>
    public static List<IRootCauseRanker> Baselines(string edgelessModel, string device)
    {
        var baselines = new List<IRootCauseRanker> { new RobustZScoreRanker() };
        if (edgelessModel != "none")
            baselines.Add(new GatRanker("GAT without edges", LoadScorer(edgelessModel, device)));
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
        var kinds = scorer
            .Model.Config.FaultKinds.Select(n => Enum.TryParse<FaultKind>(n, out var k) ? k : (FaultKind?)null)
            .OfType<FaultKind>()
            .ToArray();
        return kinds.Length > 0 ? kinds : IncidentPlan.AllKinds;
    }

    /// <summary>
    /// Runs a command body, turning expected failures into one clear line and a documented exit code
    /// (<see cref="ExitCodes"/>): 2 for usage and settings (including files named by them), 3 for a dependency
    /// that is unavailable (Kafka, an HTTP peer, a port taken), 130 when aborted. No stack trace for any of them.
    /// </summary>
    public static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e)
            when (e
                    is Configuration.SettingsException
                        or FileNotFoundException
                        or DirectoryNotFoundException
                        or InvalidDataException
                        or ArgumentException
                        or InvalidOperationException
            )
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (DependencyUnavailableException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.DependencyUnavailable;
        }
        catch (Exception e) when (e is HttpRequestException or Confluent.Kafka.KafkaException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.DependencyUnavailable;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("aborted");
            return ExitCodes.Aborted;
        }
    }

    /// <summary>A long-running command on the Generic Host (SIGTERM and Ctrl-C drain, see
    /// <see cref="Hosting.ServiceHost"/>), guarded.</summary>
    public static Task<int> Service(TimeSpan shutdownTimeout, Func<Hosting.ServiceLifetime, Task<int>> body) =>
        Guard(() => Hosting.ServiceHost.RunAsync(shutdownTimeout, body));
}

/// <summary>The exit codes of every command (docs/operations.md "Exit codes").</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>demo: the injected service was not ranked first.</summary>
    public const int WrongVerdict = 1;

    /// <summary>Usage or settings: an unknown option, a nonsense value, a missing file named by an option.</summary>
    public const int Usage = 2;

    /// <summary>A dependency is unavailable: Kafka unreachable past its deadline, a port already in use, an HTTP peer
    /// down.</summary>
    public const int DependencyUnavailable = 3;

    /// <summary>Aborted: a second Ctrl-C, or the drain outlasted --shutdown-timeout.</summary>
    public const int Aborted = Hosting.ServiceHost.AbortedExitCode;
}

/// <summary>Something the command needs is not there (Kafka unreachable, a port taken): exit code 3, one
/// line.</summary>
internal sealed class DependencyUnavailableException(string message) : Exception(message);
