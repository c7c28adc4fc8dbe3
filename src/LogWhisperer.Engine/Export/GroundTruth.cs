using System.Text.Json;
using System.Text.Json.Serialization;
using LogWhisperer.Simulation;

namespace LogWhisperer.Export;

/// <summary>
/// One line of ground_truth.jsonl: an injected incident (root service, fault kind, start, end, intensity) or
/// a benign event (deploy, load spike, GC pause) that is deliberately not an incident.
/// </summary>
internal sealed record GroundTruthEntry(
    string Type,
    string Cluster,
    string Service,
    string Kind,
    long StartMs,
    long EndMs,
    DateTimeOffset Start,
    DateTimeOffset End,
    double Intensity
)
{
    public const string Incident = "incident",
        Benign = "benign";

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static GroundTruthEntry From(Fault f, string cluster) =>
        new(
            Incident,
            cluster,
            f.Service,
            f.Kind.ToString(),
            f.StartMs,
            f.EndMs,
            DateTimeOffset.FromUnixTimeMilliseconds(f.StartMs),
            DateTimeOffset.FromUnixTimeMilliseconds(f.EndMs),
            f.Intensity
        );

    public static GroundTruthEntry From(BenignEvent e, string cluster) =>
        new(
            Benign,
            cluster,
            e.Service,
            e.Kind.ToString(),
            e.StartMs,
            e.EndMs,
            DateTimeOffset.FromUnixTimeMilliseconds(e.StartMs),
            DateTimeOffset.FromUnixTimeMilliseconds(e.EndMs),
            e.Intensity
        );

    /// <summary>Writes incidents and benign events in start order (incidents first on ties).</summary>
    public static void WriteFile(
        string path,
        string cluster,
        IEnumerable<Fault> faults,
        IEnumerable<BenignEvent> benign
    )
    {
        var entries = faults
            .Select(f => From(f, cluster))
            .Concat(benign.Select(e => From(e, cluster)))
            .OrderBy(e => e.StartMs)
            .ThenBy(e => e.Type == Incident ? 0 : 1);
        using var writer = new StreamWriter(path);
        foreach (var e in entries)
            writer.Write(JsonSerializer.Serialize(e, JsonOptions) + "\n");
    }

    public static List<GroundTruthEntry> ReadFile(string path) =>
        File.ReadLines(path)
            .Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<GroundTruthEntry>(l, JsonOptions)!)
            .ToList();
}
