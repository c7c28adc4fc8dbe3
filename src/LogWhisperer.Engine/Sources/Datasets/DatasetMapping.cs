using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using LogWhisperer.Simulation;

namespace LogWhisperer.Sources.Datasets;

/// <summary>
/// How a labelled dataset laid out as per-modality CSV files (and a JSON fault list) maps onto the engine's
/// inputs. One small JSON file per dataset (see src/LogWhisperer.Cli/datasets/); paths are globs relative
/// to the dataset's root directory ("*" within a path segment only).
/// </summary>
public sealed record DatasetMapping
{
    public required string Name { get; init; }

    /// <summary>Extracts the service from a pod (or instance) name: group 1 of this regex, or the whole value if it
    /// does not match.</summary>
    public string ServicePattern { get; init; } = "^(.*)$";

    // Every modality is optional: a dataset may have metrics only, traces only, or any mix.
    public LogMapping? Logs { get; init; }
    public TraceMapping? Traces { get; init; }
    public MetricMapping? Metrics { get; init; }

    /// <summary>Metric files per call edge (caller → callee): the edge's request rate, error share and
    /// latency.</summary>
    public EdgeMetricMapping? EdgeMetrics { get; init; }

    /// <summary>A static call graph (edge list) for meshes whose traces cannot show it.</summary>
    public TopologyMapping? Topology { get; init; }

    /// <summary>One shared fault list for the whole dataset (or use <see cref="Cases"/>).</summary>
    public FaultMapping? Faults { get; init; }

    /// <summary>One folder per case with its own telemetry and label file (or use <see cref="Faults"/>).</summary>
    public CaseMapping? Cases { get; init; }

    /// <summary>A folder of fault-free data in the same layout as the cases, replayed before each case to learn
    /// baselines.</summary>
    public BaselineMapping? Baseline { get; init; }

    /// <summary>Deploys, rollouts and configuration changes (the engine's fourth input).</summary>
    public ChangeMapping? Changes { get; init; }

    /// <summary>Minutes of fault-free data (replayed from the normal files) that precede each case, to learn
    /// baselines.</summary>
    public int WarmupMinutes { get; init; } = 5;

    /// <summary>Data before the injection that belongs to a case.</summary>
    public int LeadSeconds { get; init; } = 60;

    /// <summary>
    /// With a shared fault list: warm up on the earlier cases' lead periods as well as the normal files. Some
    /// archives ship little fault-free data (Nezha: one minute); looped, it repeats the same two windows, so
    /// every baseline's spread collapses and the case's first ordinary wobble reads as tens of σ. The minutes
    /// before the earlier injections are fault-free data of the same mesh at other times, with real variation.
    /// </summary>
    public bool WarmupFromOtherLeads { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Reads and checks a mapping file; every problem is reported with the file and the JSON path or
    /// line.</summary>
    public static DatasetMapping Load(string path)
    {
        DatasetMapping mapping;
        try
        {
            mapping =
                JsonSerializer.Deserialize<DatasetMapping>(File.ReadAllText(path), JsonOptions)
                ?? throw new InvalidDataException($"{path}: empty mapping");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        var problems = mapping.Problems().ToList();
        if (problems.Count > 0)
            throw new InvalidDataException($"{path}: {string.Join("; ", problems)}");
        return mapping;
    }

    /// <summary>What makes the mapping unusable (each naming its JSON path); empty when it is fine.</summary>
    public IEnumerable<string> Problems()
    {
        if (Logs is null && Traces is null && Metrics is null && EdgeMetrics is null)
            yield return "no telemetry: give at least one of logs, traces, metrics, edgeMetrics";
        if ((Faults is null) == (Cases is null))
            yield return "give exactly one of faults (a shared fault list) and cases (a folder per case)";
        foreach (
            var (name, pattern) in new[]
            {
                ("servicePattern", (string?)ServicePattern),
                ("logs.severityPattern", Logs?.SeverityPattern),
                ("metrics.columnPattern", Metrics?.ColumnPattern),
                ("edgeMetrics.fileNamePattern", EdgeMetrics?.FileNamePattern),
            }
        )
        {
            if (pattern is null)
                continue;
            string? error = null;
            try
            {
                _ = new Regex(pattern);
            }
            catch (ArgumentException e)
            {
                error = $"{name}: invalid regex: {e.Message}";
            }
            if (error is not null)
                yield return error;
        }
        if (Metrics is { } m)
            foreach (var p in m.Problems())
                yield return "metrics." + p;
        if (EdgeMetrics is { } em)
        {
            if (em.FileNamePattern is null && (em.Caller is null || em.Callee is null))
                yield return "edgeMetrics: give caller and callee columns, "
                    + "or a fileNamePattern with (?<caller>…) and (?<callee>…) groups";
            if (em.FileNamePattern is { } fp && !(fp.Contains("(?<caller>") && fp.Contains("(?<callee>")))
                yield return "edgeMetrics.fileNamePattern: needs the named groups (?<caller>…) and (?<callee>…)";
            foreach (var (column, gauge) in em.Gauges)
            {
                if (
                    gauge.Meaning
                    is not (
                        GaugeMeaning.Latency
                        or GaugeMeaning.ErrorShare
                        or GaugeMeaning.SuccessShare
                        or GaugeMeaning.RequestRate
                        or GaugeMeaning.RequestCount
                    )
                )
                    yield return $"edgeMetrics.gauges['{column}']: an edge carries latency, errorShare, "
                        + $"successShare, requestRate or requestCount, not {gauge.Meaning}";
                if (gauge.Problem() is { } p)
                    yield return $"edgeMetrics.gauges['{column}']: {p}";
            }
        }
        foreach (var p in Faults?.Problems() ?? [])
            yield return "faults." + p;
        foreach (var p in Cases?.Label.Problems() ?? [])
            yield return "cases.label." + p;
    }
}

/// <summary>
/// A timestamp column and its unit: "ns", "us", "ms" or "s" since the Unix epoch, or "iso" (ISO 8601, or the
/// .NET date <see cref="Format"/> given; read as UTC unless it carries an offset).
/// </summary>
public sealed record TimeColumn(string Column, string Unit = "ns", string? Format = null)
{
    public long ToMs(string value) => (long)Math.Floor(ToMsPrecise(value));

    /// <summary>Milliseconds with the fraction kept (durations from nanosecond timestamps).</summary>
    public double ToMsPrecise(string value)
    {
        if (Unit == "iso")
            return ParseDate(value, Format, Column);
        if (!decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            throw new FormatException($"'{value}' in {Column} is not a number");
        // decimal keeps nanosecond timestamps exact (a double would lose the last digits).
        return (double)(
            Unit switch
            {
                "ns" => v / 1_000_000m,
                "us" => v / 1_000m,
                "ms" => v,
                "s" => v * 1_000m,
                _ => throw new InvalidDataException($"unknown time unit '{Unit}' (ns, us, ms, s or iso)"),
            }
        );
    }

    /// <summary>A date as Unix milliseconds: ISO 8601 or the given .NET format, UTC unless it names an
    /// offset.</summary>
    public static long ParseDate(string value, string? format, string what)
    {
        const DateTimeStyles styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
        bool ok = format is null
            ? DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, styles, out var t)
            : DateTimeOffset.TryParseExact(value, format, CultureInfo.InvariantCulture, styles, out t);
        if (!ok)
            throw new FormatException(
                $"'{value}' in {what} is not a date{(format is null ? " (ISO 8601)" : $" of format '{format}'")}"
            );
        return t.ToUnixTimeMilliseconds();
    }
}

public sealed record LogMapping
{
    public required string[] Files { get; init; }
    public string[] NormalFiles { get; init; } = [];
    public required TimeColumn Time { get; init; }
    public required string Service { get; init; }
    public required string Message { get; init; }

    /// <summary>If the message column holds a JSON object (as container runtimes write), the field with the
    /// line.</summary>
    public string? MessageJsonField { get; init; }

    /// <summary>Group 1 names the level (ERROR, WARN, INFO…); lines without a match are info.</summary>
    public string SeverityPattern { get; init; } = DefaultSeverityPattern;
    public const string DefaultSeverityPattern = @"\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE)\b";

    /// <summary>Columns with the trace and span id the line was written in (log–trace linkage); when absent or
    /// empty, ids written in the line itself (<c>trace_id=…</c>) are used.</summary>
    public string? TraceId { get; init; }
    public string? SpanId { get; init; }
}

public sealed record TraceMapping
{
    public required string[] Files { get; init; }
    public string[] NormalFiles { get; init; } = [];
    public required string TraceId { get; init; }
    public required string SpanId { get; init; }
    public required string ParentId { get; init; }

    /// <summary>The parent id value that marks a root span.</summary>
    public string RootParent { get; init; } = "";
    public required string Service { get; init; }
    public required string Operation { get; init; }
    public required TimeColumn Start { get; init; }
    public required TimeColumn End { get; init; }

    /// <summary>Optional status column and the values that mean error.</summary>
    public string? Status { get; init; }
    public string[] ErrorValues { get; init; } = ["error", "ERROR", "2"];
}

/// <summary>One metric column mapped to a series name the engine knows.</summary>
/// <param name="Scale">Multiplies the value (e.g. millicores → cores, MiB → bytes).</param>
/// <param name="Integrate">The column is a rate (per second): accumulate it into a counter, as Prometheus would expose
/// it.</param>
public sealed record MetricColumn(string Name, double Scale = 1, bool Integrate = false);

/// <summary>How metric files are laid out.</summary>
public enum MetricLayout
{
    /// <summary>One row per (time, service): a column per metric
    /// (<see cref="MetricMapping.Columns"/>/<see cref="MetricMapping.Gauges"/> by column), or one row per sample with
    /// the metric's name and value in
    /// <see cref="MetricMapping.NameColumn"/>/<see cref="MetricMapping.ValueColumn"/>.</summary>
    Long,

    /// <summary>One row per time: a column per service × metric, named by <see cref="MetricMapping.ColumnPattern"/> or
    /// by extra header rows.</summary>
    Wide,
}

public sealed record MetricMapping
{
    public required string[] Files { get; init; }

    /// <summary>Fault-free files (replayed before each case to learn baselines).</summary>
    public string[] NormalFiles { get; init; } = [];
    public MetricLayout Layout { get; init; } = MetricLayout.Long;
    public required TimeColumn Time { get; init; }

    /// <summary>Long layout: the column naming the pod or service.</summary>
    public string? Service { get; init; }

    /// <summary>Long layout: columns mapped straight to a Prometheus series the engine reads.</summary>
    public Dictionary<string, MetricColumn> Columns { get; init; } = [];

    /// <summary>Gauges with a declared meaning and unit: keyed by column (long), or by metric name (wide, or long with
    /// <see cref="NameColumn"/>).</summary>
    public Dictionary<string, GaugeSpec> Gauges { get; init; } = [];

    /// <summary>Long layout, one sample per row: the column with the metric's name (a key of
    /// <see cref="Gauges"/>).</summary>
    public string? NameColumn { get; init; }

    /// <summary>Long layout, one sample per row: the column with the value.</summary>
    public string? ValueColumn { get; init; }

    /// <summary>Long layout, one sample per row: the column with the statistic (avg, p95…), if any.</summary>
    public string? StatisticColumn { get; init; }

    /// <summary>Wide layout: a regex over column names with the groups (?&lt;service&gt;…), (?&lt;metric&gt;…) and
    /// optionally (?&lt;statistic&gt;…).</summary>
    public string? ColumnPattern { get; init; }

    /// <summary>Wide layout: what the header rows say, top to bottom, e.g. ["service", "metric"] or ["service",
    /// "metric", "statistic"]; the time column is the one whose first header cell is
    /// <see cref="TimeColumn.Column"/>.</summary>
    public string[]? HeaderRows { get; init; }

    /// <summary>Columns of a wide file that are neither time nor a metric (left out on purpose, not by
    /// accident).</summary>
    public string[] IgnoreColumns { get; init; } = [];

    internal IEnumerable<string> Problems()
    {
        foreach (var (key, gauge) in Gauges)
            if (gauge.Problem() is { } p)
                yield return $"gauges['{key}']: {p}";
        if (Layout == MetricLayout.Long)
        {
            if (Service is null)
                yield return "service: the long layout needs the column naming the pod or service";
            if ((NameColumn is null) != (ValueColumn is null))
                yield return "nameColumn and valueColumn go together";
            if (NameColumn is null && Columns.Count == 0 && Gauges.Count == 0)
                yield return "columns or gauges: no metric column is mapped";
            if (ColumnPattern is not null || HeaderRows is not null)
                yield return "columnPattern and headerRows are for layout \"wide\"";
        }
        else
        {
            if ((ColumnPattern is null) == (HeaderRows is null))
                yield return "the wide layout needs exactly one of columnPattern and headerRows";
            if (ColumnPattern is { } cp && !(cp.Contains("(?<service>") && cp.Contains("(?<metric>")))
                yield return "columnPattern: needs the named groups (?<service>…) and (?<metric>…)";
            if (
                HeaderRows is { } rows
                && !(
                    rows.Contains("service")
                    && rows.Contains("metric")
                    && rows.All(r => r is "service" or "metric" or "statistic")
                )
            )
                yield return "headerRows: list \"service\", \"metric\" and optionally \"statistic\", top to bottom";
            if (Gauges.Count == 0)
                yield return "gauges: the wide layout needs the meaning of each metric name";
            if (Columns.Count > 0)
                yield return "columns: use gauges in the wide layout";
        }
    }
}

/// <summary>What a gauge measures; the adapter turns it into the series the engine reads (see
/// docs/datasets.md).</summary>
public enum GaugeMeaning
{
    Latency,
    ErrorShare,
    SuccessShare,
    RequestRate,
    RequestCount,
    Cpu,
    Memory,
    Restarts,
}

/// <summary>
/// A gauge's declared meaning. Units: latency ms, s or us; error/success share ratio or percent; request rate
/// perSecond or perMinute; request count count (requests since the previous sample); CPU cores, millicores or
/// percent (of one core); memory bytes, kib, mib, gib or percent (of <see cref="LimitBytes"/>); restarts count
/// (a running total).
/// </summary>
/// <param name="Statistic">For latency: avg, p50, p90, p95, p99 or max (a wide column's statistic group overrides
/// it).</param>
public sealed record GaugeSpec(
    GaugeMeaning Meaning,
    string? Unit = null,
    string? Statistic = null,
    double? LimitBytes = null
)
{
    public static readonly IReadOnlyDictionary<GaugeMeaning, string[]> Units = new Dictionary<GaugeMeaning, string[]>
    {
        [GaugeMeaning.Latency] = ["ms", "s", "us"],
        [GaugeMeaning.ErrorShare] = ["ratio", "percent"],
        [GaugeMeaning.SuccessShare] = ["ratio", "percent"],
        [GaugeMeaning.RequestRate] = ["perSecond", "perMinute"],
        [GaugeMeaning.RequestCount] = ["count"],
        [GaugeMeaning.Cpu] = ["cores", "millicores", "percent"],
        [GaugeMeaning.Memory] = ["bytes", "kib", "mib", "gib", "percent"],
        [GaugeMeaning.Restarts] = ["count"],
    };

    public string EffectiveUnit => Unit ?? Units[Meaning][0];

    internal string? Problem()
    {
        if (!Units[Meaning].Contains(EffectiveUnit))
            return $"unit '{Unit}' is not one of {string.Join(", ", Units[Meaning])} for {Meaning}";
        if (Meaning == GaugeMeaning.Memory && EffectiveUnit == "percent" && LimitBytes is not > 0)
            return "memory in percent needs limitBytes (the container's memory limit)";
        if (Statistic is { } s && GaugeStatistics.Quantile(s) is null)
            return $"statistic '{s}' is not one of avg, mean, p50, p90, p95, p99, max";
        return null;
    }
}

/// <summary>Latency statistics a gauge can carry, as the quantile they stand for (avg and mean are read as the
/// median).</summary>
internal static class GaugeStatistics
{
    public static double? Quantile(string statistic) =>
        statistic.ToLowerInvariant() switch
        {
            "avg" or "mean" or "average" or "p50" or "median" => 0.5,
            "p90" => 0.9,
            "p95" => 0.95,
            "p99" => 0.99,
            "max" => 1.0,
            _ => null,
        };
}

/// <summary>Per-edge metric files: one file per edge (caller and callee from the file name) or columns naming
/// them.</summary>
public sealed record EdgeMetricMapping
{
    public required string[] Files { get; init; }
    public string[] NormalFiles { get; init; } = [];
    public required TimeColumn Time { get; init; }
    public string? Caller { get; init; }
    public string? Callee { get; init; }

    /// <summary>Regex over the file name with the groups (?&lt;caller&gt;…) and (?&lt;callee&gt;…).</summary>
    public string? FileNamePattern { get; init; }

    /// <summary>Columns with latency, errorShare/successShare and requestRate/requestCount gauges.</summary>
    public required Dictionary<string, GaugeSpec> Gauges { get; init; }
}

/// <summary>A static call graph: a CSV file with caller and callee columns, or a JSON array of objects with those
/// fields.</summary>
public sealed record TopologyMapping
{
    public required string File { get; init; }
    public string Caller { get; init; } = "caller";
    public string Callee { get; init; } = "callee";
}

public sealed record FaultMapping
{
    public required string File { get; init; }

    /// <summary>Field with the injection time: a date ("yyyy-MM-dd HH:mm:ss" by default, read as UTC; see
    /// <see cref="TimeFormat"/>) or a Unix time.</summary>
    public required string TimeField { get; init; }

    /// <summary>.NET date format of <see cref="TimeField"/>, "iso" for ISO 8601, or "unix-s" / "unix-ms" for
    /// numbers.</summary>
    public string TimeFormat { get; init; } = "yyyy-MM-dd HH:mm:ss";
    public required string ServiceField { get; init; }

    /// <summary>Field with the fault's kind (a key of <see cref="Kinds"/>); without it every fault is
    /// <see cref="DefaultKind"/>.</summary>
    public string? KindField { get; init; }
    public Dictionary<string, FaultKind> Kinds { get; init; } = [];
    public FaultKind? DefaultKind { get; init; }
    public int DurationSeconds { get; init; } = 180;

    /// <summary>Optional field with the fault's end (same format as the start); else start +
    /// <see cref="DurationSeconds"/>.</summary>
    public string? EndField { get; init; }

    internal IEnumerable<string> Problems()
    {
        if (KindField is null && DefaultKind is null)
            yield return "kindField or defaultKind: the fault kind is not mapped";
        if (KindField is not null && Kinds.Count == 0)
            yield return "kinds: map each value of kindField to a fault kind";
    }
}

/// <summary>One folder per case, each with its own telemetry (the modalities' globs are relative to it) and a label
/// file.</summary>
public sealed record CaseMapping
{
    /// <summary>Glob of the case folders, relative to the dataset's root.</summary>
    public required string Folders { get; init; }

    /// <summary>The label file inside each folder (JSON object or array of objects), read with the same fields as a
    /// fault list.</summary>
    public required FaultMapping Label { get; init; }
}

/// <summary>A folder of fault-free data laid out like the cases (the modalities' globs are relative to it).</summary>
public sealed record BaselineMapping
{
    public required string Folder { get; init; }
}

/// <summary>Change records (deploys, rollouts, config changes): JSON lines or a JSON array, in any of the change
/// formats.</summary>
public sealed record ChangeMapping
{
    /// <summary>Globs relative to the dataset's root (or to each case folder in a per-case layout).</summary>
    public required string[] Files { get; init; }
}
