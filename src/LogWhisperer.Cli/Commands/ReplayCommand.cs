using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using LogWhisperer.Evaluation;
using LogWhisperer.Sources.Datasets;
using Spectre.Console;

namespace LogWhisperer.Cli.Commands;

/// <summary>Replays a labelled real dataset through the pipeline and reports accuracy beside the baselines.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset")
        {
            Description = "Mapping file, or the name of one shipped in datasets/ (nezha-trainticket, chaos-wide)",
            DefaultValueFactory = _ => "nezha-trainticket",
        };
        var data = new Option<string>("--data")
        {
            Description = "The dataset's root directory (unpacked)",
            Required = true,
        };
        var model = CliSupport.ModelOption();
        var edgeless = new Option<string>("--edgeless-model")
        {
            Description = "Edge-ablated model for a baseline column (\"none\" to skip)",
            DefaultValueFactory = _ => CliSupport.DefaultEdgelessModelPath,
        };
        var leaveOneOut = new Option<bool>("--leave-one-out")
        {
            Description = "Also fine-tune on all other cases and score each held-out case (few-shot)",
        };
        var leaveOneKindOut = new Option<bool>("--leave-one-kind-out")
        {
            Description = "Also fine-tune on the cases of the other fault kinds and score each held-out kind's cases",
        };
        var device = CliSupport.DeviceOption();
        var perFeature = new Option<bool>("--per-feature")
        {
            Description =
                "Also rank each case's window by every model feature "
                + "alone (which signals carry the root cause on this data)",
        };
        var noChanges = new Option<bool>("--no-changes")
        {
            Description =
                "Withhold the dataset's changes (deploys, config changes) from the engine: how it ranks without them",
        };
        var events = new Option<string?>("--events")
        {
            Description = "Write every RCA event the replay emitted to this file (JSON lines)",
        };
        var snapshots = new Option<string?>("--snapshots")
        {
            Description = "Write every (labelled) graph snapshot as Arrow IPC files here (input for finetune)",
        };
        var json = new Option<string?>("--json")
        {
            Description =
                "Also write the results as JSON to this file (for machines), "
                + "and a bar chart of AC@1/AC@3 per fault kind beside it (.svg, .png)",
        };
        var judgeWindows = CliSupport.JudgeWindowsOption();

        var command = new Command(
            "replay",
            "Replay a labelled dataset (e.g. Nezha Train-Ticket) through the engine and score its incidents"
        )
        {
            dataset,
            data,
            model,
            edgeless,
            leaveOneOut,
            leaveOneKindOut,
            device,
            snapshots,
            perFeature,
            noChanges,
            events,
            json,
            judgeWindows,
        };
        command.SetAction(
            (parse, ct) =>
                CliSupport.Guard(async () =>
                {
                    var clock = Stopwatch.StartNew();
                    var name = parse.GetValue(dataset)!;
                    var mappingPath = File.Exists(name)
                        ? name
                        : Path.Combine(CliSupport.AppDirectory, "datasets", name + ".json");
                    if (!File.Exists(mappingPath))
                        throw new FileNotFoundException($"no dataset mapping file or shipped mapping named '{name}'");
                    var mapping = DatasetMapping.Load(mappingPath);
                    var root = parse.GetValue(data)!;
                    if (!Directory.Exists(root))
                        throw new DirectoryNotFoundException($"dataset directory '{root}' does not exist");
                    var scorer = CliSupport.LoadScorer(parse.GetValue(model)!, parse.GetValue(device)!);
                    var baselines = CliSupport.Baselines(parse.GetValue(edgeless)!, parse.GetValue(device)!);

                    var emitted = new List<Explain.RcaEvent>();
                    var result = await ConsoleOutput.WithProgressAsync(
                        $"replay: {mapping.Name}",
                        progress =>
                            new DatasetReplay(
                                mapping,
                                root,
                                new Pipeline.PipelineOptions { SnapshotDirectory = parse.GetValue(snapshots) }
                            ).RunAsync(
                                scorer,
                                baselines,
                                parse.GetValue(leaveOneOut) ? parse.GetValue(model) : null,
                                progress: progress,
                                perFeature: parse.GetValue(perFeature),
                                cancellationToken: ct,
                                leaveOneKindOutBaseModel: parse.GetValue(leaveOneKindOut)
                                    ? parse.GetValue(model)
                                    : null,
                                withholdChanges: parse.GetValue(noChanges),
                                onEvent: emitted.Add,
                                judgement: new IncidentJudgement(parse.GetValue(judgeWindows))
                            )
                    );
                    if (parse.GetValue(events) is { } eventsPath)
                        await File.WriteAllLinesAsync(eventsPath, emitted.Select(e => e.ToJson()), ct);
                    var o = ConsoleOutput.Out;
                    o.WriteLine(
                        $"replay: {mapping.Name}, {result.Cases} cases, "
                            + $"{result.RecordsReplayed:N0} records replayed "
                            + $"({result.RowsRejected:N0} rows dead-lettered), "
                            + $"engine alarmed during {result.Detected} of {result.Cases} faults"
                    );
                    o.WriteLine();
                    ConsoleOutput.Write(o, ConsoleOutput.Ranking(o, result.Ranking));
                    if (result.PerFeature is { } features)
                    {
                        o.WriteLine("Each feature alone (the engine's row first, for comparison):");
                        o.WriteLine();
                        ConsoleOutput.Write(o, ConsoleOutput.Ranking(o, features, perKind: false));
                    }
                    o.WriteLine($"({clock.Elapsed.TotalSeconds:0} s)");
                    if (parse.GetValue(json) is { } path)
                    {
                        var r = result.Ranking;
                        await File.WriteAllTextAsync(
                            path,
                            JsonSerializer.Serialize(
                                new
                                {
                                    dataset = mapping.Name,
                                    cases = result.Cases,
                                    detected = result.Detected,
                                    recordsReplayed = result.RecordsReplayed,
                                    rowsRejected = result.RowsRejected,
                                    methods = r.Methods.Select(
                                        (m, i) =>
                                            new
                                            {
                                                name = m,
                                                ac1 = r.AccuracyAt(i, 1),
                                                ac3 = r.AccuracyAt(i, 3),
                                                avg5 = r.Avg5(i),
                                                mrr = r.Mrr(i),
                                            }
                                    ),
                                    results = r.Incidents.Select(
                                        (x, i) =>
                                            new
                                            {
                                                x.Fault.Service,
                                                Kind = x.Fault.Kind.ToString(),
                                                x.Fault.StartMs,
                                                x.Alarmed,
                                                ranks = r
                                                    .Methods.Zip(x.Ranks)
                                                    .ToDictionary(p => p.First, p => p.Second),
                                                featureRanks = result.PerFeature is { } f
                                                    ? f
                                                        .Methods.Zip(f.Incidents[i].Ranks)
                                                        .ToDictionary(p => p.First, p => p.Second)
                                                    : null,
                                            }
                                    ),
                                },
                                new JsonSerializerOptions { WriteIndented = true }
                            ),
                            ct
                        );
                        var (svg, png) = EvaluationPlot.Save(
                            r,
                            $"{mapping.Name}: {result.Cases} cases",
                            Path.ChangeExtension(path, ".svg")
                        );
                        Console.Error.WriteLine($"wrote {path}, {svg} and {png}");
                    }
                    return 0;
                })
        );
        return command;
    }
}
