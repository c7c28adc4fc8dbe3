using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using LogWhisperer.Evaluation;
using Spectre.Console;

namespace LogWhisperer.Cli.Commands;

/// <summary>
/// Scores N simulated incidents from a seed and prints, side by side on the same windows, the engine's GAT,
/// the robust z-score baseline (BARO/N-Sigma style) and the same network without edges.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var topology = CliSupport.TopologyOption();
        var model = CliSupport.ModelOption();
        var edgeless = new Option<string>("--edgeless-model")
        {
            Description = "Edge-ablated model for the baseline column (\"none\" to skip)",
            DefaultValueFactory = _ => CliSupport.DefaultEdgelessModelPath,
        };
        var device = CliSupport.DeviceOption();
        var seed = CliSupport.SeedOption(7);
        var incidents = new Option<int>("--incidents", "-n")
        {
            Description = "Number of incidents to simulate and score",
            DefaultValueFactory = _ => 200,
        }.AtLeast(1);
        var kinds = new Option<Simulation.FaultKind[]>("--kinds")
        {
            Description = "Fault kinds to draw incidents from (default: those the model names)",
            AllowMultipleArgumentsPerToken = true,
        };
        var noChanges = new Option<bool>("--no-changes")
        {
            Description =
                "Withhold the simulated changes (rollouts, config changes) from the engine, "
                + "and print the change likelihood ratio fitted on these windows",
        };
        var evidence = new Option<string>("--evidence")
        {
            Description =
                "full: logs, traces and container metrics; metrics-only: "
                + "container and Istio request metrics, no logs, no traces",
            DefaultValueFactory = _ => "full",
        };
        evidence.AcceptOnlyFromAmong("full", "metrics-only");
        var json = new Option<string?>("--json")
        {
            Description =
                "Also write the results as JSON to this file (for machines), "
                + "and a bar chart of AC@1/AC@3 per fault kind beside it (.svg, .png)",
        };
        var judgeWindows = CliSupport.JudgeWindowsOption();

        var command = new Command(
            "eval",
            "Evaluate on simulated incidents: AC@1, AC@3, Avg@5, MRR for the GAT and two baselines"
        )
        {
            topology,
            model,
            edgeless,
            device,
            seed,
            incidents,
            kinds,
            noChanges,
            evidence,
            json,
            judgeWindows,
        };
        command.SetAction(
            (parse, ct) =>
                CliSupport.Guard(async () =>
                {
                    var clock = Stopwatch.StartNew();
                    var topo = CliSupport.LoadTopology(parse.GetValue(topology)!);
                    var scorer = CliSupport.LoadScorer(parse.GetValue(model)!, parse.GetValue(device)!);
                    var baselines = CliSupport.Baselines(parse.GetValue(edgeless)!, parse.GetValue(device)!);
                    int total = parse.GetValue(incidents),
                        evalSeed = parse.GetValue(seed);

                    var drawn = parse.GetValue(kinds) is { Length: > 0 } k ? k : CliSupport.KindsOf(scorer);
                    bool metricsOnly = parse.GetValue(evidence) == "metrics-only";
                    var result = await ConsoleOutput.WithProgressAsync(
                        $"eval: {total} incidents on {topo.Name}",
                        progress =>
                            new Evaluator(
                                topo,
                                scorer,
                                baselines,
                                kinds: drawn,
                                changes: !parse.GetValue(noChanges),
                                meshMetrics: metricsOnly,
                                judgement: new IncidentJudgement(parse.GetValue(judgeWindows)),
                                degradation: metricsOnly
                                    ? new Sources.Degradation { DropLogs = true, TraceKeepShare = 0 }
                                    : null
                            ).RunAsync(total, evalSeed, progress, ct)
                    );
                    var o = ConsoleOutput.Out;
                    o.WriteLine(
                        $"eval: {topo.Name}, {total} incidents, seed {evalSeed}, "
                            + $"model {Path.GetFileName(parse.GetValue(model))}"
                    );
                    o.WriteLine();
                    o.WriteLine("Engine, end to end (first RCA event during each incident):");
                    ConsoleOutput.Write(o, ConsoleOutput.EndToEnd(o, result.Engine));
                    o.WriteLine(
                        $"Ranking on the same windows ({result.Ranking.Incidents.Count} incidents; "
                            + $"the engine alarmed on {result.Ranking.Incidents.Count(r => r.Alarmed)}):"
                    );
                    ConsoleOutput.Write(o, ConsoleOutput.Ranking(o, result.Ranking));
                    if (result.Changes is { } changeReport)
                        o.WriteLine(changeReport.ToLine());
                    if (result.FittedChangeRatios is { } fit)
                        o.WriteLine(
                            FormattableString.Invariant(
                                $"changes withheld; likelihood ratios fitted on these windows (changed ≤ 2 min, ≤ 5 min, ≤ 15 min before onset, and deviating): {string.Join(", ", fit.Select(r => r.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)))}"
                            )
                        );
                    o.WriteLine($"({clock.Elapsed.TotalSeconds:0} s)");
                    if (parse.GetValue(json) is { } path)
                    {
                        var r = result.Ranking;
                        await File.WriteAllTextAsync(
                            path,
                            JsonSerializer.Serialize(
                                new
                                {
                                    topology = topo.Name,
                                    seed = evalSeed,
                                    incidents = total,
                                    ac1 = result.Engine.AccuracyAt(1),
                                    ac3 = result.Engine.AccuracyAt(3),
                                    avg5 = result.Engine.Avg5,
                                    detectionRate = result.Engine.DetectionRate,
                                    faultKindAccuracy = result.Engine.FaultKindAccuracy,
                                    falseAlarms = result.Engine.FalseAlarms,
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
                                    results = result.Engine.Incidents.Select(x => new
                                    {
                                        x.Fault.Service,
                                        Kind = x.Fault.Kind.ToString(),
                                        x.Fault.StartMs,
                                        x.Rank,
                                        top = x.FirstEvent?.Candidates[0].Service,
                                    }),
                                },
                                new JsonSerializerOptions { WriteIndented = true }
                            ),
                            ct
                        );
                        var (svg, png) = EvaluationPlot.Save(
                            r,
                            $"{topo.Name}: {r.Incidents.Count} incidents, seed {evalSeed}",
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
