using System.Globalization;
using LogWhisperer.Evaluation;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace LogWhisperer.Cli.Commands;

/// <summary>
/// The commands' human output through Spectre.Console. On a terminal: tables with rounded borders and a live
/// status line for long runs. Redirected (a file, a pipe, CI): no colour or cursor control, tables as
/// Markdown (they paste into a README or an issue as they are), progress as one plain line per step.
/// Machines read the <c>--json</c> files instead.
/// </summary>
internal static class ConsoleOutput
{
    /// <summary>Standard output (results).</summary>
    public static IAnsiConsole Out { get; } = Create(Console.Out, Console.IsOutputRedirected);

    /// <summary>Standard error (progress and summaries).</summary>
    public static IAnsiConsole Err { get; } = Create(Console.Error, Console.IsErrorRedirected);

    /// <summary>Tables as the redirected output shows them (Markdown), as text.</summary>
    public static string ToText(Func<IAnsiConsole, IEnumerable<Table>> tables)
    {
        using var text = new StringWriter();
        var console = Create(text, redirected: true);
        Write(console, tables(console));
        return text.ToString().Replace("\r\n", "\n");
    }

    private static IAnsiConsole Create(TextWriter writer, bool redirected)
    {
        var console = AnsiConsole.Create(
            new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(writer),
                Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
                ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
                Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
            }
        );
        if (redirected)
            console.Profile.Width = 1000; // never wrap a table row in a file
        return console;
    }

    private static bool Plain(IAnsiConsole console) => !console.Profile.Capabilities.Interactive;

    /// <summary>A table in the console's style: Markdown when redirected, rounded on a terminal.</summary>
    public static Table NewTable(IAnsiConsole console, params (string Header, bool Numeric)[] columns)
    {
        var table = new Table { Border = Plain(console) ? TableBorder.Markdown : TableBorder.Rounded };
        foreach (var (header, numeric) in columns)
            table.AddColumn(
                new TableColumn(Markup.Escape(header)) { Alignment = numeric ? Justify.Right : Justify.Left }
            );
        return table;
    }

    public static void AddRow(Table table, params object[] cells) =>
        table.AddRow(
            cells
                .Select(c =>
                    (IRenderable)
                        new Text(
                            c switch
                            {
                                double d => d.ToString("0.000", CultureInfo.InvariantCulture),
                                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                                _ => c.ToString() ?? "",
                            }
                        )
                )
                .ToArray()
        );

    /// <summary>AC@1, AC@3, Avg@5 and MRR per method; then, when asked, AC@1 per fault kind (a column per
    /// method).</summary>
    public static IEnumerable<Table> Ranking(IAnsiConsole console, RankingReport report, bool perKind = true)
    {
        var overall = NewTable(
            console,
            ("method", false),
            ("AC@1", true),
            ("AC@3", true),
            ("Avg@5", true),
            ("MRR", true)
        );
        for (int m = 0; m < report.Methods.Count; m++)
            AddRow(
                overall,
                report.Methods[m],
                report.AccuracyAt(m, 1),
                report.AccuracyAt(m, 3),
                report.Avg5(m),
                report.Mrr(m)
            );
        yield return overall;
        if (!perKind)
            yield break;
        var kinds = NewTable(
            console,
            [("fault kind", false), ("incidents", true), .. report.Methods.Select(m => ("AC@1 " + m, true))]
        );
        foreach (var g in report.Incidents.GroupBy(r => r.Fault.Kind).OrderBy(g => g.Key))
            AddRow(
                kinds,
                [g.Key.ToString(), g.Count(), .. report.Methods.Select((_, m) => (object)report.AccuracyAt(m, 1, g))]
            );
        yield return kinds;
    }

    /// <summary>The engine judged end to end by its first RCA event during each incident, overall and per fault
    /// kind.</summary>
    public static IEnumerable<Table> EndToEnd(IAnsiConsole console, EvaluationReport report)
    {
        var overall = NewTable(
            console,
            ("incidents", true),
            ("detected", true),
            ("AC@1", true),
            ("AC@3", true),
            ("Avg@5", true),
            ("fault kind", true),
            ("false alarms", true)
        );
        AddRow(
            overall,
            report.Incidents.Count,
            report.DetectionRate.ToString("P0", CultureInfo.InvariantCulture),
            report.AccuracyAt(1),
            report.AccuracyAt(3),
            report.Avg5,
            report.FaultKindAccuracy.ToString("P0", CultureInfo.InvariantCulture),
            report.FalseAlarms
        );
        yield return overall;
        var kinds = NewTable(console, ("fault kind", false), ("incidents", true), ("AC@1", true), ("AC@3", true));
        foreach (var g in report.Incidents.GroupBy(r => r.Fault.Kind).OrderBy(g => g.Key))
        {
            var sub = new EvaluationReport(g.ToArray(), 0, 0);
            AddRow(kinds, g.Key.ToString(), g.Count(), sub.AccuracyAt(1), sub.AccuracyAt(3));
        }
        yield return kinds;
    }

    public static void Write(IAnsiConsole console, IEnumerable<Table> tables)
    {
        foreach (var table in tables)
        {
            if (Plain(console))
                console.WriteLine(Markdown(table));
            else
                console.Write(table);
            console.WriteLine();
        }
    }

    /// <summary>A table as Markdown text: Spectre's Markdown border, less its blank top and bottom rules and trailing
    /// blanks.</summary>
    private static string Markdown(Table table)
    {
        using var text = new StringWriter();
        var console = Create(text, redirected: true);
        table.Border = TableBorder.Markdown;
        console.Write(table);
        return string.Join('\n', text.ToString().Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0));
    }

    /// <summary>
    /// Runs a long piece of work with its progress on standard error: a live status line (spinner, elapsed
    /// time, the latest step) above the steps printed so far on a terminal; one plain line per step otherwise.
    /// </summary>
    public static async Task<T> WithProgressAsync<T>(string what, Func<IProgress<string>, Task<T>> work)
    {
        if (Plain(Err))
            return await work(new LineProgress(Err));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        return await Err.Status()
            .Spinner(Spinner.Known.Dots)
            .StartAsync(
                what,
                async ctx =>
                    await work(
                        new LineProgress(
                            Err,
                            step =>
                                ctx.Status(
                                    $"{Markup.Escape(what)} [grey]({clock.Elapsed.TotalSeconds:0} "
                                        + $"s)[/] {Markup.Escape(step)}"
                                )
                        )
                    )
            );
    }

    /// <summary>A progress of <typeparamref name="T"/> reported as the line <paramref name="format"/> makes of it, at
    /// once, on the caller's thread.</summary>
    public static IProgress<T> Lines<T>(IProgress<string> lines, Func<T, string> format) =>
        new Formatted<T>(lines, format);

    private sealed class Formatted<T>(IProgress<string> lines, Func<T, string> format) : IProgress<T>
    {
        public void Report(T value) => lines.Report(format(value));
    }

    /// <summary>Reports each step at once, on the caller's thread (unlike Progress&lt;T&gt;, which posts and may
    /// reorder).</summary>
    private sealed class LineProgress(IAnsiConsole console, Action<string>? status = null) : IProgress<string>
    {
        private readonly Lock _lock = new();

        public void Report(string value)
        {
            lock (_lock)
            {
                console.WriteLine(value);
                status?.Invoke(value);
            }
        }
    }
}
