using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using LogWhisperer.Graph;
using LogWhisperer.Scoring;
using LogWhisperer.Training;

namespace LogWhisperer.Cli.Commands;

/// <summary>Trains the GAT on simulated incidents (or on snapshots saved earlier) and saves the model.</summary>
internal static class TrainCommand
{
    // Real meshes of several shapes and sizes plus generated ones; Train-Ticket (46 services, the real
    // names) is held out whole, so validation measures a topology the model never saw.
    public static readonly string[] DefaultTopologies =
    [
        "online-boutique",
        "sock-shop",
        "bookinfo",
        "synthetic:24:1",
        "synthetic:40:2",
    ];
    public const string DefaultValidationTopology = "train-ticket";
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
    };

    public static Command Create()
    {
        var topologies = new Option<string[]>("--topology", "-t")
        {
            Description = "Topologies to train on (repeatable; a file, a shipped name, or synthetic:N[:seed])",
            DefaultValueFactory = _ => DefaultTopologies,
            AllowMultipleArgumentsPerToken = true,
        };
        var validationTopology = new Option<string>("--validation-topology")
        {
            Description =
                "A whole topology held out for validation (\"none\": "
                + "hold out the last cluster of each training topology)",
            DefaultValueFactory = _ => DefaultValidationTopology,
        };
        var clusters = new Option<int>("--clusters")
        {
            Description = "Simulated clusters per topology",
            DefaultValueFactory = _ => 2,
        }.AtLeast(1);
        var incidents = new Option<int>("--incidents")
        {
            Description = "Incidents per simulated cluster",
            DefaultValueFactory = _ => 16,
        }.AtLeast(1);
        var seed = CliSupport.SeedOption(42);
        var epochs = new Option<int>("--epochs")
        {
            Description = "Most training epochs (early stopping may end sooner)",
            DefaultValueFactory = _ => 60,
        }.AtLeast(1);
        var output = new Option<string>("--out", "-o")
        {
            Description = "Where to write the model (the curves go beside it as .curves.svg)",
            DefaultValueFactory = _ => "gat.lwm",
        };
        var snapshots = new Option<string?>("--snapshots")
        {
            Description = "Train on labelled Arrow snapshots from this directory instead of simulating",
        };
        var edgeless = new Option<bool>("--edgeless")
        {
            Description = "Train the edge-ablation baseline (same network, no call edges)",
        };
        var device = CliSupport.DeviceOption();
        var json = new Option<string?>("--json")
        {
            Description =
                "Also write the run as JSON to this file (for machines): windows, "
                + "every epoch's losses and accuracies, calibration, the files written",
        };

        var command = new Command("train", "Train the root-cause GAT on labelled incidents")
        {
            topologies,
            validationTopology,
            clusters,
            incidents,
            seed,
            epochs,
            output,
            snapshots,
            edgeless,
            device,
            json,
        };
        command.SetAction(
            (parse, ct) =>
                CliSupport.Guard(async () =>
                {
                    var clock = Stopwatch.StartNew();
                    var err = Console.Error;
                    List<GraphSnapshot> train,
                        validation;
                    if (parse.GetValue(snapshots) is { } dir)
                    {
                        var all = SnapshotStore.ReadAll(dir).Where(s => s.Label is not null).ToList();
                        err.WriteLine($"read {all.Count} labelled snapshots from {dir}");
                        (train, validation) = HoldOutLastCluster(all);
                    }
                    else
                    {
                        if (parse.GetValue(validationTopology) is null or "none" && parse.GetValue(clusters) < 2)
                            throw new Configuration.SettingsException(
                                "--validation-topology none validates on one held-out cluster per topology: "
                                    + "it needs --clusters 2 or more (or name a validation topology)"
                            );
                        var topos = parse.GetValue(topologies)!.Select(CliSupport.LoadTopology).ToArray();
                        (train, validation) = await ConsoleOutput.WithProgressAsync(
                            "simulating training incidents",
                            async progress =>
                            {
                                var all = await TrainingSet.GenerateAsync(
                                    topos,
                                    parse.GetValue(clusters),
                                    parse.GetValue(incidents),
                                    parse.GetValue(seed),
                                    progress: progress,
                                    cancellationToken: ct
                                );
                                if (parse.GetValue(validationTopology) is not { } held || held == "none")
                                    return HoldOutLastCluster(all);
                                return (
                                    all,
                                    // Two clusters, one busy and one quiet (TrainingSet.Conditions): early
                                    // stopping on a busy mesh alone picks the epoch that suits busy meshes,
                                    // and real ones are often quiet.
                                    await TrainingSet.GenerateAsync(
                                        [CliSupport.LoadTopology(held)],
                                        2,
                                        parse.GetValue(incidents),
                                        parse.GetValue(seed) + 1,
                                        progress: progress,
                                        cancellationToken: ct
                                    )
                                );
                            }
                        );
                    }
                    if (validation.Count == 0 || train.Count == 0)
                        throw new Configuration.SettingsException(
                            $"nothing to {(train.Count == 0 ? "train" : "validate")} on: the snapshots hold {train.Count + validation.Count} labelled window(s) from {train.Concat(validation).Select(s => s.Cluster).Distinct().Count()} cluster(s); one whole cluster is held out for validation, so at least two are needed"
                        );
                    err.WriteLine(
                        $"training on {train.Count} windows ({train.Count(s => s.Label!.IsIncident)} incident) from {train.Select(s => s.Cluster).Distinct().Count()} clusters; validating on {validation.Count} from {string.Join(", ", validation.Select(s => s.Cluster).Distinct())}"
                    );

                    var d = ComputeDevice.Select(parse.GetValue(device)!);
                    var trainer = new GatTrainer(
                        new TrainOptions { Epochs = parse.GetValue(epochs), Seed = parse.GetValue(seed) },
                        d
                    );
                    var config = new GatConfig
                    {
                        UseEdges = !parse.GetValue(edgeless),
                        RelativeFeatures = true,
                        TrainedWith = "logwhisperer " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
                        TrainedAt = DateTimeOffset.UtcNow.ToString("u"),
                    };
                    var model = await ConsoleOutput.WithProgressAsync(
                        $"training ({parse.GetValue(epochs)} epochs at most)",
                        progress =>
                            Task.FromResult(
                                trainer.Train(
                                    config,
                                    train,
                                    validation,
                                    r =>
                                        progress.Report(
                                            $"epoch {r.Epoch, 3}  train loss {r.TrainLoss:0.0000} "
                                                + $" val loss {r.ValidationLoss:0.0000}  "
                                                + $"val AC@1 {r.ValidationAc1:0.000}  val incident "
                                                + $"acc {r.ValidationIncidentAccuracy:0.000}"
                                        )
                                )
                            )
                    );
                    var (temperature, eceBefore, eceAfter) = trainer.Calibration;
                    err.WriteLine(
                        $"calibration: temperature {temperature:0.00}, "
                            + $"expected calibration error {eceBefore:0.000} → {eceAfter:0.000}"
                    );
                    var path = parse.GetValue(output)!;
                    model.SaveTo(path);
                    var (svg, png) = TrainingPlot.Save(
                        trainer.History,
                        $"LogWhisperer {(config.UseEdges ? "GAT" : "edge-ablated GAT")} training",
                        Path.ChangeExtension(path, ".curves.svg")
                    );
                    err.WriteLine(
                        $"saved {path} ({new FileInfo(path).Length / 1024.0:0.0} KiB), {svg} and {png}, "
                            + $"on {ComputeDevice.Describe(d)} in {clock.Elapsed.TotalSeconds:0} s"
                    );
                    if (parse.GetValue(json) is { } jsonPath)
                    {
                        await File.WriteAllTextAsync(
                            jsonPath,
                            JsonSerializer.Serialize(
                                new
                                {
                                    model = path,
                                    curves = new { svg, png },
                                    edges = config.UseEdges,
                                    seed = parse.GetValue(seed),
                                    device = ComputeDevice.Describe(d),
                                    train = new
                                    {
                                        windows = train.Count,
                                        incidentWindows = train.Count(s => s.Label!.IsIncident),
                                        clusters = train.Select(s => s.Cluster).Distinct().Order(),
                                    },
                                    validation = new
                                    {
                                        windows = validation.Count,
                                        incidentWindows = validation.Count(s => s.Label!.IsIncident),
                                        clusters = validation.Select(s => s.Cluster).Distinct().Order(),
                                    },
                                    epochs = trainer.History,
                                    calibration = new
                                    {
                                        temperature,
                                        eceBefore,
                                        eceAfter,
                                    },
                                    seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
                                },
                                JsonOptions
                            ),
                            ct
                        );
                        err.WriteLine($"wrote {jsonPath}");
                    }
                    return 0;
                })
        );
        return command;
    }

    /// <summary>Holds out whole clusters: the validation windows come from runs the model never saw.</summary>
    private static (List<GraphSnapshot> Train, List<GraphSnapshot> Validation) HoldOutLastCluster(
        List<GraphSnapshot> all
    )
    {
        var names = all.Select(s => s.Cluster).Distinct().Order().ToArray();
        // One per topology that has more than one cluster (a topology's only cluster trains).
        var held = names
            .GroupBy(c => c.Contains('-') ? c[..c.LastIndexOf('-')] : c)
            .Where(g => g.Count() > 1)
            .Select(g => g.Last())
            .ToHashSet();
        return (all.Where(s => !held.Contains(s.Cluster)).ToList(), all.Where(s => held.Contains(s.Cluster)).ToList());
    }
}
