using System.CommandLine;
using LogWhisperer.Features.Logs;

namespace LogWhisperer.Cli.Commands;

/// <summary> Mines log templates (Drain) from a log file, or measures accuracy on Loghub's labelled samples
/// (<see cref="LoghubEvaluation.Report"/>). With --state the templates (and their ids) are loaded before and saved
/// after, so ids stay stable across runs.
/// </summary>
internal static class TemplatesCommand
{
    public static Command Create()
    {
        var input = new Option<string?>("--input", "-i") { Description = "Log file to mine (one line per record)" };
        var format = new Option<string?>("--format")
        {
            Description =
                "Header format in Loghub notation, e.g. '<Date> <Time> <Level> <Component>: "
                + "<Content>' (default: the whole line is the message)",
        };
        var state = new Option<string?>("--state")
        {
            Description = "Template state file (lw-drain/1): loaded if present, saved afterwards",
        };
        var loghub = new Option<string?>("--loghub")
        {
            Description =
                "Directory of Loghub 2k samples: print grouping accuracy (GA), parsing accuracy (PA) "
                + "and grouping F1 per system beside published Drain, and a leave-one-system-out check",
        };
        var top = new Option<int>("--top")
        {
            Description = "Templates to print (most frequent first)",
            DefaultValueFactory = _ => 30,
        }.AtLeast(1);

        var command = new Command(
            "templates",
            "Mine log templates (Drain) from a file, or measure grouping accuracy on Loghub"
        )
        {
            input,
            format,
            state,
            loghub,
            top,
        };
        command.SetAction(
            (parse, _) =>
                CliSupport.Guard(() =>
                {
                    if (parse.GetValue(loghub) is { } root)
                    {
                        if (!Directory.Exists(root))
                            throw new ArgumentException($"--loghub: no directory '{root}'");
                        Console.Write(LoghubEvaluation.Report(root));
                        return Task.FromResult(0);
                    }
                    var file =
                        parse.GetValue(input) ?? throw new ArgumentException("give --input FILE or --loghub DIR");
                    var statePath = parse.GetValue(state);
                    var miner =
                        statePath is not null && File.Exists(statePath)
                            ? TemplateMiner.Load(statePath)
                            : new TemplateMiner();
                    var header = parse.GetValue(format) is { } f ? new LogFormat(f) : null;
                    var parser = miner.ParserFor("default");
                    long lines = 0,
                        created = 0;
                    foreach (var line in File.ReadLines(file))
                    {
                        parser.Parse(header?.Content(line) ?? line, out bool isNew);
                        lines++;
                        if (isNew)
                            created++;
                    }
                    foreach (var t in parser.Templates.OrderByDescending(t => t.Count).Take(parse.GetValue(top)))
                        Console.WriteLine($"{t.Id, 6} {t.Count, 10}  {t.Text}");
                    Console.Error.WriteLine(
                        $"{lines} line(s), {parser.TemplateCount} template(s), {created} new this run"
                    );
                    if (statePath is not null)
                        miner.Save(statePath);
                    return Task.FromResult(0);
                })
        );
        return command;
    }
}
