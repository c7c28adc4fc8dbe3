using System.CommandLine;
using System.Text.Json;
using LogWhisperer.Graph;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Training;

namespace LogWhisperer.Cli.Commands;

/// <summary>
/// Few-shot fine-tuning on a team's own labelled incidents: snapshots recorded from their mesh (demo,
/// replay or engine runs with --snapshots) plus, where the snapshots carry no labels, a JSON-lines file of
/// incidents ({"service","kind","start","end"} with ISO-8601 times).
/// </summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var model = CliSupport.ModelOption();
        var snapshots = new Option<string?>("--snapshots")
        {
            Description = "Directory of Arrow snapshots from your mesh",
        };
        var feedback = new Option<string?>("--feedback")
        {
            Description =
                "The engine's feedback store (Incidents:StoreDirectory): incidents people confirmed, "
                + "rejected or corrected in the console, with their labelled snapshots",
        };
        var incidents = new Option<string?>("--incidents")
        {
            Description = "JSON lines of your incidents: {\"service\",\"kind\",\"start\",\"end\"}",
        };
        var epochs = new Option<int>("--epochs")
        {
            Description = "Fine-tuning epochs",
            DefaultValueFactory = _ => 10,
        }.AtLeast(1);
        var output = new Option<string>("--out", "-o")
        {
            Description = "Where to write the fine-tuned model",
            Required = true,
        };
        var device = CliSupport.DeviceOption();

        var command = new Command("finetune", "Fine-tune the model on your own labelled incidents (few-shot)")
        {
            model,
            snapshots,
            feedback,
            incidents,
            epochs,
            output,
            device,
        };
        command.SetAction(
            (parse, ct) =>
                CliSupport.Guard(async () =>
                {
                    var err = Console.Error;
                    var dirs = new[]
                    {
                        parse.GetValue(snapshots),
                        parse.GetValue(feedback) is { } f ? new Sinks.FeedbackStore(f).SnapshotDirectory : null,
                    }
                        .OfType<string>()
                        .ToList();
                    if (dirs.Count == 0)
                        throw new ArgumentException("give --snapshots DIR, --feedback DIR, or both");
                    var all = dirs.SelectMany(d => SnapshotStore.ReadAll(d)).ToList();
                    if (parse.GetValue(incidents) is { } path)
                    {
                        var labeler = new IncidentLabeler(ReadIncidents(path));
                        all = all.Select(s =>
                                Sinks.FeedbackStore.WithLabel(s, labeler.Label(s.WindowStartMs, s.WindowEndMs))
                            )
                            .ToList();
                    }
                    var labelled = all.Where(s => s.Label is not null).ToList();
                    if (labelled.Count(s => s.Label!.IsIncident) == 0)
                        throw new InvalidDataException(
                            "no incident windows among the snapshots: label them with --incidents"
                        );
                    err.WriteLine(
                        $"fine-tuning on {labelled.Count} labelled windows "
                            + $"({labelled.Count(s => s.Label!.IsIncident)} incident)"
                    );
                    var d = ComputeDevice.Select(parse.GetValue(device)!);
                    var trainer = new GatTrainer(
                        new TrainOptions
                        {
                            Epochs = parse.GetValue(epochs),
                            LearningRate = 1e-3,
                            Patience = parse.GetValue(epochs),
                        },
                        d
                    );
                    var tuned = trainer.FineTune(
                        GatModel.Load(parse.GetValue(model)!, d),
                        labelled,
                        labelled,
                        r =>
                            err.WriteLine(
                                $"epoch {r.Epoch, 3}  loss {r.TrainLoss:0.0000}  AC@1 {r.ValidationAc1:0.000}"
                            )
                    );
                    tuned.SaveTo(parse.GetValue(output)!);
                    TrainingPlot.Save(
                        trainer.History,
                        "LogWhisperer fine-tuning",
                        Path.ChangeExtension(parse.GetValue(output)!, ".curves.svg")
                    );
                    err.WriteLine($"saved {parse.GetValue(output)}");
                    return 0;
                })
        );
        return command;
    }

    internal static List<Fault> ReadIncidents(string path) =>
        File.ReadLines(path)
            .Where(l => l.Trim().Length > 0)
            .Select(
                (line, i) =>
                {
                    try
                    {
                        using var doc = JsonDocument.Parse(line);
                        var e = doc.RootElement;
                        return new Fault(
                            e.GetProperty("service").GetString()!,
                            Enum.Parse<FaultKind>(e.GetProperty("kind").GetString()!, ignoreCase: true),
                            e.GetProperty("start").GetDateTimeOffset().ToUnixTimeMilliseconds(),
                            e.GetProperty("end").GetDateTimeOffset().ToUnixTimeMilliseconds(),
                            1
                        );
                    }
                    catch (Exception ex)
                        when (ex
                                is JsonException
                                    or KeyNotFoundException
                                    or ArgumentException
                                    or FormatException
                                    or InvalidOperationException
                        )
                    {
                        throw new InvalidDataException($"{path}:{i + 1}: {ex.Message}", ex);
                    }
                }
            )
            .ToList();
}
