using System.Text.Json;
using System.Text.Json.Serialization;
using LogWhisperer.Graph;
using LogWhisperer.Simulation;

namespace LogWhisperer.Sinks;

/// <summary>What a person said about an incident's verdict (console, POST /api/incidents/{id}/feedback, or the feedback
/// topic).</summary>
/// <param name="Verdict">"confirm" (the root cause is right), "reject" (no incident: a false alarm), or "rootCause" (it
/// was <paramref name="Service"/>).</param>
public sealed record VerdictFeedback(
    string IncidentId,
    string Verdict,
    string? Service = null,
    string? Note = null,
    string? By = null
)
{
    public const string Confirm = "confirm",
        Reject = "reject",
        RootCause = "rootCause";

    /// <summary>Null when valid, else what is wrong (for a 400 or a dead letter).</summary>
    public string? Problem() =>
        Verdict switch
        {
            _ when string.IsNullOrWhiteSpace(IncidentId) => "missing incidentId",
            Confirm or Reject => null,
            RootCause when string.IsNullOrWhiteSpace(Service) =>
                "verdict 'rootCause' needs the service that was the root cause",
            RootCause => null,
            _ => $"unknown verdict '{Verdict}': expected confirm, reject or rootCause",
        };

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>One line of feedback.jsonl: the feedback and the label it gave the incident's windows.</summary>
/// <param name="Service">The root cause the windows are labelled with (null: labelled quiet, a false alarm).</param>
public sealed record LabelledIncident(
    string Incident,
    string Cluster,
    string Feedback,
    string? Service,
    string Kind,
    DateTimeOffset Start,
    DateTimeOffset End,
    int Windows,
    DateTimeOffset At,
    string? Note = null
);

/// <summary>
/// Verdict feedback stored as labelled incidents that <c>finetune --feedback DIR</c> reads as they are:
/// DIR/feedback.jsonl (one <see cref="LabelledIncident"/> per line) and the incident's windows as Arrow
/// snapshots under DIR/snapshots/&lt;cluster&gt;/ with the label in their schema metadata. The snapshots come
/// from a bounded memory of recent scored windows per cluster (<see cref="Retain"/>), so feedback can be
/// given while an incident is fresh (the last <see cref="RetainWindows"/> windows); older incidents keep
/// their label line only.
/// </summary>
public sealed class FeedbackStore(string directory, int retainWindows = 720)
{
    public const string FileName = "feedback.jsonl",
        SnapshotFolder = "snapshots";
    private readonly Dictionary<string, SortedList<long, GraphSnapshot>> _recent = [];
    private readonly Lock _lock = new();

    public string Directory { get; } = directory;
    public string SnapshotDirectory => Path.Combine(Directory, SnapshotFolder);
    public int RetainWindows => retainWindows;

    /// <summary>Keeps a scored window so feedback on its incident can store it (the pipeline's scored-snapshot
    /// hook).</summary>
    public void Retain(GraphSnapshot snapshot)
    {
        lock (_lock)
        {
            if (!_recent.TryGetValue(snapshot.Cluster, out var windows))
                _recent[snapshot.Cluster] = windows = new SortedList<long, GraphSnapshot>();
            windows[snapshot.WindowStartMs] = snapshot;
            while (windows.Count > retainWindows)
                windows.RemoveAt(0);
        }
    }

    /// <summary>Labels the incident's windows by the feedback and stores them; returns the incident with its
    /// feedback.</summary>
    public StoredIncident Record(StoredIncident incident, VerdictFeedback feedback, DateTimeOffset at)
    {
        string? root = feedback.Verdict switch
        {
            VerdictFeedback.Reject => null,
            VerdictFeedback.RootCause => feedback.Service,
            _ => incident.RootCause,
        };
        var label = root is null
            ? SnapshotLabel.Quiet
            : new SnapshotLabel(root, Enum.TryParse<FaultKind>(incident.FaultKind, out var k) ? k : null);
        int stored = 0;
        lock (_lock)
        {
            System.IO.Directory.CreateDirectory(Directory);
            if (_recent.TryGetValue(incident.Cluster, out var windows))
                foreach (long start in incident.WindowStarts)
                    if (windows.TryGetValue(start, out var snapshot))
                    {
                        SnapshotStore.Write(SnapshotDirectory, WithLabel(snapshot, label));
                        stored++;
                    }
            long end =
                incident.WindowStarts.Max()
                + (incident.WindowStarts.Count > 1 ? incident.WindowStarts[^1] - incident.WindowStarts[^2] : 30_000);
            var line = new LabelledIncident(
                incident.Id,
                incident.Cluster,
                Past(feedback.Verdict),
                root,
                incident.FaultKind,
                incident.OpenedAt,
                DateTimeOffset.FromUnixTimeMilliseconds(end),
                stored,
                at,
                feedback.Note
            );
            File.AppendAllText(
                Path.Combine(Directory, FileName),
                JsonSerializer.Serialize(line, VerdictFeedback.Json) + "\n"
            );
        }
        return incident with
        {
            Feedback = Past(feedback.Verdict),
            ActualRootCause = feedback.Verdict == VerdictFeedback.RootCause ? feedback.Service : null,
        };
    }

    /// <summary>Every feedback given so far, oldest first (the console's share of confirmed verdicts over
    /// time).</summary>
    public IReadOnlyList<LabelledIncident> All()
    {
        var path = Path.Combine(Directory, FileName);
        lock (_lock)
            return File.Exists(path)
                ? File.ReadLines(path)
                    .Where(l => l.Trim().Length > 0)
                    .Select(l => JsonSerializer.Deserialize<LabelledIncident>(l, VerdictFeedback.Json)!)
                    .ToList()
                : [];
    }

    public static string Past(string verdict) =>
        verdict switch
        {
            VerdictFeedback.Confirm => "confirmed",
            VerdictFeedback.Reject => "rejected",
            _ => "corrected",
        };

    /// <summary>The snapshot with another ground-truth label in its schema metadata (null: none).</summary>
    public static GraphSnapshot WithLabel(GraphSnapshot s, SnapshotLabel? label)
    {
        var meta = new Dictionary<string, string>(s.Nodes.Schema.Metadata);
        meta.Remove("logwhisperer.label_root");
        meta.Remove("logwhisperer.label_kind");
        if (label is not null)
        {
            meta["logwhisperer.label_root"] = label.RootService ?? "";
            meta["logwhisperer.label_kind"] = label.Kind?.ToString() ?? "";
        }
        var schema = new Apache.Arrow.Schema(s.Nodes.Schema.FieldsList, meta);
        return new GraphSnapshot(new Apache.Arrow.RecordBatch(schema, s.Nodes.Arrays, s.Nodes.Length), s.Edges);
    }
}
