using System.CommandLine;
using LogWhisperer.Cli.Commands;

var root = new RootCommand("LogWhisperer: streaming root-cause analysis for microservice incidents (logs, metrics, traces → GAT → explained RCA events).");
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

// Ctrl-C is handled by the commands themselves (first press drains, second aborts).
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
