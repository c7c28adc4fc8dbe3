using System.CommandLine;
using LogWhisperer.Explain;
using LogWhisperer.Graph;

namespace LogWhisperer.Cli.Commands;

/// <summary>Scores graph snapshots saved earlier (Arrow IPC) and prints the RCA events they yield.</summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var snapshots = new Option<string>("--snapshots")
        {
            Description = "Directory of Arrow snapshots (as written by demo --snapshots)",
            Required = true,
        };
        var model = CliSupport.ModelOption();
        var device = CliSupport.DeviceOption();
        var threshold = new Option<double>("--threshold")
        {
            Description = "Incident probability needed to emit an event",
            DefaultValueFactory = _ => 0.5,
        }.Within(0, 1);

        var command = new Command("score", "Score saved graph snapshots and print RCA events as JSON lines")
        {
            snapshots,
            model,
            device,
            threshold,
        };
        command.SetAction(
            (parse, _) =>
                CliSupport.Guard(() =>
                {
                    var scorer = CliSupport.LoadScorer(parse.GetValue(model)!, parse.GetValue(device)!);
                    var explainer = new Explainer(
                        new ExplainerOptions { IncidentThreshold = parse.GetValue(threshold) },
                        new Scoring.IntegratedGradients(scorer.Model, scorer.Device)
                    );
                    int read = 0,
                        emitted = 0;
                    foreach (var chunk in SnapshotStore.ReadAll(parse.GetValue(snapshots)!).Chunk(64))
                    {
                        read += chunk.Length;
                        foreach (var scored in scorer.Score(chunk))
                            if (explainer.Explain(scored) is { } rca)
                            {
                                Console.WriteLine(rca.ToJson());
                                emitted++;
                            }
                    }
                    Console.Error.WriteLine($"{read} snapshot(s) scored, {emitted} RCA event(s)");
                    return Task.FromResult(0);
                })
        );
        return command;
    }
}
