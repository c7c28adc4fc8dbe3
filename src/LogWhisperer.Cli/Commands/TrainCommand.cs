using System.CommandLine;
using System.Diagnostics;
using LogWhisperer.Graph;
using LogWhisperer.Runs;
using LogWhisperer.Scoring;

namespace LogWhisperer.Cli.Commands;

/// <summary>Trains the GAT on simulated incidents (or on snapshots saved earlier) and saves the model.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var topologies = new Option<string[]>("--topology", "-t") { Description = "Topologies to simulate (repeatable)", DefaultValueFactory = _ => ["online-boutique"], AllowMultipleArgumentsPerToken = true };
        var clusters = new Option<int>("--clusters") { Description = "Simulated clusters per topology (the last one of each is held out for validation)", DefaultValueFactory = _ => 4 };
        var incidents = new Option<int>("--incidents") { Description = "Incidents per simulated cluster", DefaultValueFactory = _ => 25 };
        var seed = CliSupport.SeedOption(42);
        var epochs = new Option<int>("--epochs") { Description = "Most training epochs (early stopping may end sooner)", DefaultValueFactory = _ => 60 };
        var output = new Option<string>("--out", "-o") { Description = "Where to write the model", DefaultValueFactory = _ => "gat.lwm" };
        var snapshots = new Option<string?>("--snapshots") { Description = "Train on labelled Arrow snapshots from this directory instead of simulating" };
        var device = CliSupport.DeviceOption();

        var command = new Command("train", "Train the root-cause GAT on labelled incidents") { topologies, clusters, incidents, seed, epochs, output, snapshots, device };
        command.SetAction((parse, ct) => CliSupport.Guard(async () =>
        {
            var clock = Stopwatch.StartNew();
            var err = Console.Error;
            List<GraphSnapshot> all;
            if (parse.GetValue(snapshots) is { } dir)
            {
                all = SnapshotStore.ReadAll(dir).Where(s => s.Label is not null).ToList();
                err.WriteLine($"read {all.Count} labelled snapshots from {dir}");
            }
            else
            {
                var topos = parse.GetValue(topologies)!.Select(CliSupport.LoadTopology).ToArray();
                all = await TrainingSet.GenerateAsync(topos, parse.GetValue(clusters), parse.GetValue(incidents), parse.GetValue(seed),
                    progress: new Progress<string>(err.WriteLine), cancellationToken: ct);
            }
            // Hold out whole clusters: the validation windows come from runs the model never saw.
            var clusterNames = all.Select(s => s.Cluster).Distinct().Order().ToArray();
            var held = clusterNames.Length > 1 ? clusterNames.GroupBy(c => c[..c.LastIndexOf('-')]).Select(g => g.Last()).ToHashSet() : [];
            var train = all.Where(s => !held.Contains(s.Cluster)).ToList();
            var validation = all.Where(s => held.Contains(s.Cluster)).ToList();
            err.WriteLine($"training on {train.Count} windows ({train.Count(s => s.Label!.IsIncident)} incident), validating on {validation.Count} ({string.Join(", ", held)})");

            var d = ComputeDevice.Select(parse.GetValue(device)!);
            var trainer = new GatTrainer(new TrainOptions { Epochs = parse.GetValue(epochs), Seed = parse.GetValue(seed) }, d);
            var config = new GatConfig { TrainedWith = "logwhisperer " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), TrainedAt = DateTimeOffset.UtcNow.ToString("u") };
            var model = trainer.Train(config, train, validation, r =>
                err.WriteLine($"epoch {r.Epoch,3}  train loss {r.TrainLoss:0.0000}  val loss {r.ValidationLoss:0.0000}  val AC@1 {r.ValidationAc1:0.000}  val incident acc {r.ValidationIncidentAccuracy:0.000}"));
            model.SaveTo(parse.GetValue(output)!);
            err.WriteLine($"saved {parse.GetValue(output)} ({new FileInfo(parse.GetValue(output)!).Length / 1024.0:0.0} KiB) on {ComputeDevice.Describe(d)} in {clock.Elapsed.TotalSeconds:0} s");
            return 0;
        }));
        return command;
    }
}
