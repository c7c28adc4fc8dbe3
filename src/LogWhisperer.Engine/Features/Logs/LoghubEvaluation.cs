using LogWhisperer.Sources;

namespace LogWhisperer.Features.Logs;

/// <summary>
/// Template mining measured against Loghub's labelled 2k-line samples: each system folder holds
/// <c>&lt;System&gt;_2k.log</c> (raw lines) and <c>&lt;System&gt;_2k.log_structured.csv</c> (the ground-truth EventId of each
/// line). The raw line's header is cut off with the system's <see cref="LogFormat"/>; the parser sees only the message.
/// </summary>
public static class LoghubEvaluation
{
    /// <summary>Published Drain grouping accuracy on the same samples (Zhu et al., ICSE-SEIP 2019).</summary>
    public static IReadOnlyDictionary<string, double> PublishedDrain { get; } = new Dictionary<string, double>
    {
        ["HDFS"] = 0.998, ["BGL"] = 0.963, ["Apache"] = 1.0, ["Hadoop"] = 0.948,
        ["Spark"] = 0.920, ["Zookeeper"] = 0.967, ["OpenSSH"] = 0.788, ["HealthApp"] = 0.780,
    };

    public sealed record SystemSample(string System, IReadOnlyList<string> Contents, IReadOnlyList<string> EventIds);

    public sealed record Result(string System, int Lines, int TruthTemplates, int MinedTemplates, double Accuracy);

    public static SystemSample Load(string root, string system)
    {
        var dir = Path.Combine(root, system);
        var format = new LogFormat(LogFormat.Loghub[system]);
        var lines = File.ReadAllLines(Path.Combine(dir, system + "_2k.log")).Where(l => l.Length > 0).ToList();
        var events = CsvReader.ReadRecords(Path.Combine(dir, system + "_2k.log_structured.csv")).Select(r => (r.Fields ?? throw new InvalidDataException(r.Error))["EventId"]).ToList();
        if (lines.Count != events.Count) throw new InvalidDataException($"{system}: {lines.Count} log lines but {events.Count} labelled rows");
        return new SystemSample(system, lines.Select(format.Content).ToList(), events);
    }

    public static Result Evaluate(SystemSample sample, DrainOptions options)
    {
        var parser = new DrainParser(options);
        var predicted = new int[sample.Contents.Count];
        for (int i = 0; i < predicted.Length; i++) predicted[i] = parser.Parse(sample.Contents[i]).Id;
        return new Result(sample.System, predicted.Length, sample.EventIds.Distinct().Count(), parser.TemplateCount,
            GroupingAccuracy.Compute(sample.EventIds, predicted));
    }
}
