using System.Text.Json;
using LogWhisperer.Explain;

namespace LogWhisperer.Sinks;

/// <summary>A finished incident as the store keeps it: enough to find it again by evidence, and what people said about
/// it.</summary>
/// <param name="Evidence">Attributed evidence summed over its windows (feature → weight).</param>
/// <param name="Feedback">"confirmed", "rejected" or "corrected"; null until someone judges it.</param>
public sealed record StoredIncident(
    string Id,
    string Cluster,
    string RootCause,
    string FaultKind,
    DateTimeOffset OpenedAt,
    DateTimeOffset? ResolvedAt,
    IReadOnlyDictionary<string, double> Evidence,
    IReadOnlyList<long> WindowStarts,
    string? Feedback = null,
    string? ActualRootCause = null
)
{
    public static StoredIncident From(OpenIncident incident) =>
        new(
            incident.Id,
            incident.Cluster,
            incident.Service,
            incident.FaultKind,
            incident.First.WindowStart,
            incident.Latest.Incident?.ResolvedAt,
            incident.Evidence,
            incident.WindowStarts
        );
}

/// <summary>
/// Past incidents, bounded (the oldest go first) and kept across restarts as JSON lines (one line per change,
/// the last line of an id wins; the file is rewritten when it holds twice the capacity). Answers "have we seen
/// this before?": the nearest earlier incidents by similarity = ½ cosine of the evidence vectors + ¼ same root
/// cause + ¼ same fault kind.
/// </summary>
public sealed class IncidentStore
{
    public const string FileName = "incidents.jsonl";
    private static readonly JsonSerializerOptions Json = RcaEvent.JsonOptions;
    private readonly string? _path;
    private readonly int _capacity;
    private readonly Dictionary<string, StoredIncident> _byId = [];
    private readonly LinkedList<string> _order = []; // oldest first
    private readonly Lock _lock = new();
    private int _lines;

    /// <param name="directory">Where incidents.jsonl lives; null keeps them in memory only.</param>
    public IncidentStore(string? directory = null, int capacity = 1000)
    {
        _capacity = capacity;
        if (directory is null)
            return;
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, FileName);
        if (!File.Exists(_path))
            return;
        foreach (var line in File.ReadLines(_path))
        {
            if (line.Trim().Length == 0)
                continue;
            _lines++;
            try
            {
                if (JsonSerializer.Deserialize<StoredIncident>(line, Json) is { } incident)
                    Remember(incident);
            }
            catch (JsonException) { } // a line cut short by a crash: the rest of the file still counts
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
                return _byId.Count;
        }
    }

    public IReadOnlyList<StoredIncident> All
    {
        get
        {
            lock (_lock)
                return _order.Reverse().Select(id => _byId[id]).ToArray();
        }
    }

    public StoredIncident? Find(string id)
    {
        lock (_lock)
            return _byId.GetValueOrDefault(id);
    }

    public void Put(StoredIncident incident)
    {
        lock (_lock)
        {
            Remember(incident);
            if (_path is null)
                return;
            if (++_lines > 2 * _capacity)
            {
                File.WriteAllLines(_path + ".tmp", _order.Select(id => JsonSerializer.Serialize(_byId[id], Json)));
                File.Move(_path + ".tmp", _path, overwrite: true);
                _lines = _byId.Count;
            }
            else
                File.AppendAllText(_path, JsonSerializer.Serialize(incident, Json) + "\n");
        }
    }

    /// <summary>
    /// The most similar incidents of the same cluster that opened before <paramref name="before"/> (never the incident
    /// itself). Same cluster: its own history is what a team asks about, and it keeps the answer a function of the
    /// cluster's own stream (engines that share the clusters of a mesh out each see their own).
    /// </summary>
    public IReadOnlyList<SimilarIncident> Similar(
        string excludeId,
        string cluster,
        string root,
        string kind,
        IReadOnlyDictionary<string, double> evidence,
        DateTimeOffset before,
        int count,
        double minSimilarity
    )
    {
        lock (_lock)
            return _byId
                .Values.Where(p => p.Id != excludeId && p.Cluster == cluster && p.OpenedAt < before)
                .Select(p => (p, similarity: Similarity(root, kind, evidence, p)))
                .Where(x => x.similarity >= minSimilarity)
                .OrderByDescending(x => x.similarity)
                .ThenByDescending(x => x.p.OpenedAt)
                .Take(count)
                .Select(x => new SimilarIncident(
                    x.p.Id,
                    x.p.Cluster,
                    x.p.RootCause,
                    x.p.FaultKind,
                    x.p.OpenedAt,
                    Math.Round(x.similarity, 3),
                    x.p.Feedback,
                    x.p.ActualRootCause
                ))
                .ToList();
    }

    public static double Similarity(
        string root,
        string kind,
        IReadOnlyDictionary<string, double> evidence,
        StoredIncident other
    ) =>
        0.5 * Cosine(evidence, other.Evidence)
        + 0.25 * (root == (other.ActualRootCause ?? other.RootCause) ? 1 : 0)
        + 0.25 * (kind == other.FaultKind ? 1 : 0);

    public static double Cosine(IReadOnlyDictionary<string, double> a, IReadOnlyDictionary<string, double> b)
    {
        double dot = a.Sum(kv => kv.Value * b.GetValueOrDefault(kv.Key));
        double na = Math.Sqrt(a.Values.Sum(v => v * v)),
            nb = Math.Sqrt(b.Values.Sum(v => v * v));
        return na == 0 || nb == 0 ? 0 : dot / (na * nb);
    }

    private void Remember(StoredIncident incident)
    {
        if (_byId.ContainsKey(incident.Id))
            _order.Remove(incident.Id);
        _byId[incident.Id] = incident;
        _order.AddLast(incident.Id);
        while (_byId.Count > _capacity)
        {
            _byId.Remove(_order.First!.Value);
            _order.RemoveFirst();
        }
    }
}
