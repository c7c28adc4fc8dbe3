using System.Text.Json;
using System.Text.Json.Serialization;
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
    /// <summary>Extracts the service from a pod (or instance) name: group 1 of this regex, or the whole value if it does not match.</summary>
    public string ServicePattern { get; init; } = "^(.*)$";
    public required LogMapping Logs { get; init; }
    public required TraceMapping Traces { get; init; }
    public required MetricMapping Metrics { get; init; }
    public required FaultMapping Faults { get; init; }
    /// <summary>Minutes of fault-free data (replayed from the normal files) that precede each case, to learn baselines.</summary>
    public int WarmupMinutes { get; init; } = 5;
    /// <summary>Data before the injection that belongs to a case.</summary>
    public int LeadSeconds { get; init; } = 60;

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter() },
    };

    public static DatasetMapping Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<DatasetMapping>(File.ReadAllText(path), JsonOptions) ?? throw new InvalidDataException($"{path}: empty mapping");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }
}

/// <summary>A timestamp column and its unit: "ns", "us", "ms" or "s" since the Unix epoch.</summary>
public sealed record TimeColumn(string Column, string Unit = "ns")
{
    public long ToMs(string value) => (long)Math.Floor(ToMsPrecise(value));

    /// <summary>Milliseconds with the fraction kept (durations from nanosecond timestamps).</summary>
    public double ToMsPrecise(string value)
    {
        if (!decimal.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v))
            throw new FormatException($"'{value}' in {Column} is not a number");
        // decimal keeps nanosecond timestamps exact (a double would lose the last digits).
        return (double)(Unit switch
        {
            "ns" => v / 1_000_000m, "us" => v / 1_000m, "ms" => v, "s" => v * 1_000m,
            _ => throw new InvalidDataException($"unknown time unit '{Unit}'"),
        });
    }
}

public sealed record LogMapping
{
    public required string[] Files { get; init; }
    public string[] NormalFiles { get; init; } = [];
    public required TimeColumn Time { get; init; }
    public required string Service { get; init; }
    public required string Message { get; init; }
    /// <summary>If the message column holds a JSON object (as container runtimes write), the field with the line.</summary>
    public string? MessageJsonField { get; init; }
    /// <summary>Group 1 names the level (ERROR, WARN, INFO…); lines without a match are info.</summary>
    public string SeverityPattern { get; init; } = @"\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE)\b";
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
/// <param name="Integrate">The column is a rate (per second): accumulate it into a counter, as Prometheus would expose it.</param>
public sealed record MetricColumn(string Name, double Scale = 1, bool Integrate = false);

public sealed record MetricMapping
{
    public required string[] Files { get; init; }
    public required TimeColumn Time { get; init; }
    public required string Service { get; init; }
    public required Dictionary<string, MetricColumn> Columns { get; init; }
}

public sealed record FaultMapping
{
    public required string File { get; init; }
    /// <summary>Field with the injection time ("yyyy-MM-dd HH:mm:ss", read as UTC).</summary>
    public required string TimeField { get; init; }
    public required string ServiceField { get; init; }
    public required string KindField { get; init; }
    public required Dictionary<string, FaultKind> Kinds { get; init; }
    public int DurationSeconds { get; init; } = 180;
}
