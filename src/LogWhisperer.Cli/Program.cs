using System.CommandLine;
using LogWhisperer.Cli.Commands;

var root = new RootCommand(
    "LogWhisperer: streaming root-cause analysis for microservice incidents (logs, "
        + "metrics, traces → GAT → explained RCA events)."
);
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(ScoreCommand.Create());
root.Subcommands.Add(ReplayCommand.Create());
root.Subcommands.Add(FinetuneCommand.Create());
root.Subcommands.Add(ChaosCommand.Create());
root.Subcommands.Add(KafkaCommands.Dev());
root.Subcommands.Add(KafkaCommands.Produce());
root.Subcommands.Add(KafkaCommands.Engine());
root.Subcommands.Add(PullCommand.Create());
root.Subcommands.Add(GatewayCommand.Create());
root.Subcommands.Add(TemplatesCommand.Create());
root.Subcommands.Add(ConfigCommand.Create());
root.Subcommands.Add(HealthcheckCommand.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // Usage errors: one line and exit code 2 (see ExitCodes), not the whole help text.
    var path = new List<string>();
    for (
        var c = parse.CommandResult;
        c is not null && c.Command != root;
        c = c.Parent as System.CommandLine.Parsing.CommandResult
    )
        path.Insert(0, c.Command.Name);
    var first =
        parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal))
        ?? parse.Errors[0];
    Console.Error.WriteLine($"error: {first.Message} (see `{string.Join(' ', ["logwhisperer", .. path, "--help"])}`)");
    return ExitCodes.Usage;
}

// Doc-tests (DocTests) ask whether a command line shown in README or docs/ parses, without running it.
if (Environment.GetEnvironmentVariable("LW_PARSE_ONLY") == "1")
    return ExitCodes.Ok;

// SIGTERM and Ctrl-C are handled by the commands' Generic Host (ServiceHost: first drains, second Ctrl-C aborts).
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
