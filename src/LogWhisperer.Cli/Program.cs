using System.CommandLine;
using LogWhisperer.Cli.Commands;

var root = new RootCommand("LogWhisperer: streaming root-cause analysis for microservice incidents (logs, metrics, traces → GAT → explained RCA events).");
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(ScoreCommand.Create());
root.Subcommands.Add(TemplatesCommand.Create());

// Ctrl-C is handled by the commands themselves (first press drains, second aborts).
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
