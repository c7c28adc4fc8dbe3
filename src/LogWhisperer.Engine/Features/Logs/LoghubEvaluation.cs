using System.Text;
using LogWhisperer.Sources;

namespace LogWhisperer.Features.Logs;

/// <summary> Template mining measured against Loghub's labelled 2k-line samples: each system folder holds
/// <c>&lt;System&gt;_2k.log</c> (raw lines) and <c>&lt;System&gt;_2k.log_structured.csv</c> (the ground-truth EventId
/// and EventTemplate of each line). The raw line's header is cut off with the system's <see cref="LogFormat"/>; the
/// parser sees only the message, one line after another as a stream, and each line is scored with the id it was given
/// when it arrived (ids never change afterwards).
/// </summary>
public static class LoghubEvaluation
{
    /// <summary>Published Drain grouping accuracy on the same samples (Zhu et al., ICSE-SEIP 2019), tuned per
    /// system.</summary>
    public static IReadOnlyDictionary<string, double> PublishedDrain { get; } =
        new Dictionary<string, double>
        {
            ["HDFS"] = 0.998,
            ["BGL"] = 0.963,
            ["Apache"] = 1.0,
            ["Hadoop"] = 0.948,
            ["Spark"] = 0.920,
            ["Zookeeper"] = 0.967,
            ["OpenSSH"] = 0.788,
            ["HealthApp"] = 0.780,
        };

    /// <summary>The configurations the leave-one-system-out check chooses from: depth × similarity threshold ×
    /// conflicts.</summary>
    public static IReadOnlyList<DrainOptions> Grid { get; } =
        (
            from depth in new[] { 3, 4, 5, 6 }
            from threshold in new[] { 0.3, 0.4, 0.5, 0.6, 0.7 }
            from conflicts in new[] { 0, 1, 2, 3, int.MaxValue }
            select new DrainOptions
            {
                Depth = depth,
                SimilarityThreshold = threshold,
                MaxConflicts = conflicts,
            }
        ).ToList();

    public sealed record SystemSample(
        string System,
        IReadOnlyList<string> Contents,
        IReadOnlyList<string> EventIds,
        IReadOnlyList<string> EventTemplates
    );

    /// <param name="Accuracy">Grouping accuracy (GA): share of lines whose mined group is exactly their true
    /// group.</param>
    /// <param name="ParsingAccuracy">Share of lines whose mined template text is exactly the true template (whitespace
    /// runs as one space).</param>
    /// <param name="GroupingF1">F1 of grouping (Loghub-2.0's FGA): harmonic mean of the shares of mined and of true
    /// groups that match exactly.</param>
    public sealed record Result(
        string System,
        int Lines,
        int TruthTemplates,
        int MinedTemplates,
        double Accuracy,
        double ParsingAccuracy,
        double GroupingF1
    );

    /// <summary>One held-out system: the configuration chosen on the others and the accuracy it reached on this
    /// one.</summary>
    public sealed record HeldOut(string System, DrainOptions Chosen, double Accuracy);

    public static SystemSample Load(string root, string system)
    {
        var dir = Path.Combine(root, system);
        var format = new LogFormat(LogFormat.Loghub[system]);
        var lines = File.ReadAllLines(Path.Combine(dir, system + "_2k.log")).Where(l => l.Length > 0).ToList();
        var rows = CsvReader
            .ReadRecords(Path.Combine(dir, system + "_2k.log_structured.csv"))
            .Select(r => r.Fields ?? throw new InvalidDataException(r.Error))
            .ToList();
        if (lines.Count != rows.Count)
            throw new InvalidDataException($"{system}: {lines.Count} log lines but {rows.Count} labelled rows");
        return new SystemSample(
            system,
            lines.Select(format.Content).ToList(),
            rows.Select(r => r["EventId"]).ToList(),
            rows.Select(r => r["EventTemplate"]).ToList()
        );
    }

    /// <summary>Mines the sample as a stream with a fresh parser and scores the ids and texts against the
    /// truth.</summary>
    public static Result Evaluate(SystemSample sample, DrainOptions options)
    {
        var parser = new DrainParser(options);
        var predicted = new int[sample.Contents.Count];
        for (int i = 0; i < predicted.Length; i++)
            predicted[i] = parser.Parse(sample.Contents[i]).Id;
        int exactText = 0;
        for (int i = 0; i < predicted.Length; i++)
            if (Normalize(parser.Template(predicted[i])?.Text ?? "") == Normalize(sample.EventTemplates[i]))
                exactText++;
        return new Result(
            sample.System,
            predicted.Length,
            sample.EventIds.Distinct().Count(),
            parser.TemplateCount,
            GroupingAccuracy.Compute(sample.EventIds, predicted),
            (double)exactText / Math.Max(1, predicted.Length),
            GroupingAccuracy.F1(sample.EventIds, predicted)
        );
    }

    /// <summary>
    /// Leave-one-system-out: for each system, the <see cref="Grid"/> configuration with the best mean grouping
    /// accuracy on the other systems, and the accuracy it reaches on the held-out one (ties go to the earlier
    /// configuration in the grid).
    /// </summary>
    public static IReadOnlyList<HeldOut> LeaveOneSystemOut(IReadOnlyList<SystemSample> samples)
    {
        var accuracy = Grid.Select(o => samples.Select(s => Evaluate(s, o).Accuracy).ToArray()).ToArray();
        return Enumerable
            .Range(0, samples.Count)
            .Select(held =>
            {
                int best = Enumerable
                    .Range(0, Grid.Count)
                    .MaxBy(g => Enumerable.Range(0, samples.Count).Where(i => i != held).Average(i => accuracy[g][i]));
                return new HeldOut(samples[held].System, Grid[best], accuracy[best][held]);
            })
            .ToList();
    }

    /// <summary>The report `templates --loghub` prints: per-system figures with the default options, then the
    /// leave-one-system-out check.</summary>
    public static string Report(string root)
    {
        var samples = PublishedDrain
            .Keys.Where(s => Directory.Exists(Path.Combine(root, s)))
            .Select(s => Load(root, s))
            .ToList();
        var options = new DrainOptions();
        var sb = new StringBuilder();
        sb.AppendLine(
            $"default options: depth {options.Depth}, "
                + $"similarity {options.SimilarityThreshold:F1}, conflicts {options.MaxConflicts}"
        );
        sb.AppendLine("system      lines  truth  mined     GA     PA     F1  published-Drain-GA");
        var results = samples.Select(s => Evaluate(s, options)).ToList();
        foreach (var r in results)
            sb.AppendLine(
                $"{r.System, -10} {r.Lines, 6} {r.TruthTemplates, 6} {r.MinedTemplates, 6} {r.Accuracy, 6:F3} "
                    + $"{r.ParsingAccuracy, 6:F3} {r.GroupingF1, 6:F3} {PublishedDrain[r.System], 19:F3}"
            );
        if (results.Count == 0)
            return sb.AppendLine($"no Loghub samples under {root}").ToString();
        sb.AppendLine(
            $"{"mean", -31} {results.Average(r => r.Accuracy), 6:F3} {results.Average(r => r.ParsingAccuracy), 6:F3} {results.Average(r => r.GroupingF1), 6:F3} {results.Average(r => PublishedDrain[r.System]), 19:F3}"
        );
        if (samples.Count < 2)
            return sb.ToString();
        sb.AppendLine();
        sb.AppendLine(
            "leave-one-system-out: "
                + $"options chosen on the other systems ({Grid.Count} of depth x similarity x conflicts)"
        );
        var held = LeaveOneSystemOut(samples);
        foreach (var h in held)
            sb.AppendLine(
                $"{h.System, -10} depth {h.Chosen.Depth}, similarity {h.Chosen.SimilarityThreshold:F1}, "
                    + $"conflicts {Conflicts(h.Chosen)}  GA {h.Accuracy:F3}"
            );
        sb.AppendLine($"mean held-out GA {held.Average(h => h.Accuracy):F3}");
        return sb.ToString();
    }

    private static string Conflicts(DrainOptions o) =>
        o.MaxConflicts == int.MaxValue ? "any" : o.MaxConflicts.ToString();

    private static string Normalize(string template) =>
        string.Join(' ', template.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
