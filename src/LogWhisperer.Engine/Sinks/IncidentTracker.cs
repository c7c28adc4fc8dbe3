using LogWhisperer.Explain;

namespace LogWhisperer.Sinks;

public sealed record IncidentOptions
{
    /// <summary>An incident resolves after this many quiet windows in a row (one alone could be a lull
    /// mid-incident).</summary>
    public int ResolveAfterQuietWindows { get; init; } = 2;

    /// <summary> An incident resolved by quiet windows is reopened (same id, state "reopened") when a verdict naming
    /// its root and fault kind comes within this many windows of its resolution, instead of opening a second incident:
    /// a lull of two windows mid-fault (a CPU hog whose symptoms dip) must not page twice. 0 never reopens.
    /// </summary>
    public int ReopenWithinWindows { get; init; } = 4;

    /// <summary>How many similar past incidents an event lists.</summary>
    public int SimilarIncidents { get; init; } = 3;

    /// <summary>Earlier incidents less similar than this are not listed.</summary>
    public double MinSimilarity { get; init; } = 0.5;
}

/// <summary>One incident as it stands: its first and newest event and what its windows add up to.</summary>
/// <param name="First">The event that opened it (alert labels, e.g. the fault kind, stay those of this event).</param>
/// <param name="Latest">Its newest event, with <see cref="RcaEvent.Incident"/> set (descriptions follow this
/// one).</param>
/// <param name="RootScores">Root-cause score per service summed over its windows: the incident's root is the
/// largest.</param>
/// <param name="Evidence">Attributed evidence summed over its windows (feature → attribution), for similarity.</param>
public sealed record OpenIncident(
    string Id,
    string Cluster,
    RcaEvent First,
    RcaEvent Latest,
    IReadOnlyDictionary<string, double> RootScores,
    IReadOnlyDictionary<string, double> Evidence,
    IReadOnlyList<long> WindowStarts,
    int QuietWindows
)
{
    /// <summary>Windows the incident has had, all of them (<see cref="WindowStarts"/> keeps the newest
    /// <see cref="IncidentTracker.MaxWindowStarts"/>).</summary>
    public int Windows { get; init; } = WindowStarts.Count;

    public string Service => Latest.Incident!.RootCause;
    public string FaultKind => First.FaultType.Kind;
}

/// <summary>What one event or quiet window changed.</summary>
/// <param name="Event">The event to hand on, with its incident set; on a quiet window, the resolution event (or
/// null).</param>
/// <param name="Resolved">The incident that ended here (quiet windows, or an unrelated root cause took over).</param>
public readonly record struct IncidentChange(RcaEvent? Event, OpenIncident? Resolved);

/// <summary>
/// Turns the engine's stream (an event per incident window, quiet windows in between) into incidents, per
/// cluster: one per root cause, its windows grouped along the call graph. A window joins the open incident
/// when its verdict is related to it — the same root cause, a root in the other's blast radius (a symptomatic
/// caller ranked first for a moment), or a shared hypothesis — so ten symptomatic services and a rank 1
/// that wavers between the cause and its caller stay one incident. An unrelated root cause resolves the
/// open incident and opens a new one. <see cref="IncidentOptions.ResolveAfterQuietWindows"/> quiet windows in
/// a row resolve it with an event of its own (state "resolved", the last verdict repeated, the quiet window's times).
/// Single-threaded per pipeline (the sink stage); locked so the console can read it.
/// </summary>
public sealed class IncidentTracker(IncidentOptions? options = null)
{
    /// <summary>Window starts an open incident keeps: a day of 30 s windows.</summary>
    public const int MaxWindowStarts = 2_880;

    private readonly IncidentOptions _options = options ?? new();
    private readonly Dictionary<string, OpenIncident> _open = [];

    /// <summary>Per cluster, the incident that quiet windows resolved last, while it may still reopen.</summary>
    private readonly Dictionary<string, OpenIncident> _recentlyResolved = [];
    private readonly Lock _lock = new();

    public IncidentChange Observe(RcaEvent rca)
    {
        lock (_lock)
        {
            _open.TryGetValue(rca.Cluster, out var open);
            OpenIncident? resolved = null;
            if (open is not null && !Related(open, rca))
            {
                resolved = open;
                open = null;
            }
            bool reopened = false;
            if (open is null && _recentlyResolved.Remove(rca.Cluster, out var last) && MayReopen(last, rca))
            {
                open = last;
                reopened = true;
            }
            var scores = new Dictionary<string, double>(open?.RootScores ?? new Dictionary<string, double>());
            foreach (var c in rca.Candidates)
                scores[c.Service] = scores.GetValueOrDefault(c.Service) + c.Score;
            var evidence = new Dictionary<string, double>(open?.Evidence ?? new Dictionary<string, double>());
            foreach (var (key, value) in EvidenceVector(rca))
                evidence[key] = evidence.GetValueOrDefault(key) + value;
            string root = scores.MaxBy(kv => kv.Value).Key;
            string id = open?.Id ?? $"inc-{rca.Cluster}-{rca.WindowStart.ToUnixTimeMilliseconds()}";
            var state =
                open is null ? IncidentInfo.Opened
                : reopened ? IncidentInfo.Reopened
                : IncidentInfo.Updated;
            var info = new IncidentInfo(
                id,
                state,
                open?.First.WindowStart ?? rca.WindowStart,
                root,
                (open?.Windows ?? 0) + 1,
                Supersedes: resolved?.Id
            );
            var enriched = rca with { Incident = info };
            // Bounded: an incident that never ends keeps its newest windows' starts, not one per window forever.
            var windows = (open?.WindowStarts ?? [])
                .TakeLast(MaxWindowStarts - 1)
                .Append(rca.WindowStart.ToUnixTimeMilliseconds())
                .ToArray();
            _open[rca.Cluster] = new OpenIncident(
                id,
                rca.Cluster,
                open?.First ?? enriched,
                enriched,
                scores,
                evidence,
                windows,
                0
            )
            {
                Windows = info.Windows,
            };
            return new IncidentChange(enriched, resolved is null ? null : Resolve(resolved, rca.WindowStart));
        }
    }

    public IncidentChange Quiet(string cluster, DateTimeOffset windowEnd)
    {
        lock (_lock)
        {
            if (!_open.TryGetValue(cluster, out var open))
                return default;
            if (open.QuietWindows + 1 < _options.ResolveAfterQuietWindows)
            {
                _open[cluster] = open with { QuietWindows = open.QuietWindows + 1 };
                return default;
            }
            _open.Remove(cluster);
            var latest = open.Latest;
            var size = latest.WindowEnd - latest.WindowStart;
            var resolved = Resolve(open, windowEnd);
            var verdict = latest.Incident!.RootCause;
            var resolution = latest with
            {
                Id = $"rca-{cluster}-{(windowEnd - size).ToUnixTimeMilliseconds()}",
                WindowStart = windowEnd - size,
                WindowEnd = windowEnd,
                Explanation =
                    $"Resolved: the incident with root cause {verdict} in {cluster} "
                    + $"is over ({_options.ResolveAfterQuietWindows} quiet window(s) "
                    + $"in a row). Its last verdict: {latest.Explanation}",
                Incident = resolved.Latest.Incident,
            };
            var ended = resolved with { Latest = resolution };
            if (_options.ReopenWithinWindows > 0)
                _recentlyResolved[cluster] = ended;
            return new IncidentChange(resolution, ended);
        }
    }

    /// <summary>Whether a verdict comes soon enough after the incident's resolution, and names its root and kind, to
    /// reopen it.</summary>
    private bool MayReopen(OpenIncident resolved, RcaEvent rca)
    {
        var window = resolved.Latest.WindowEnd - resolved.Latest.WindowStart;
        var resolvedAt = resolved.Latest.Incident!.ResolvedAt ?? resolved.Latest.WindowEnd;
        // The same root and kind, not merely a related verdict: a new fault next to the old root a minute later (a
        // crash loop of its caller, with the old root ranked first for a window) is a new incident.
        return rca.WindowStart - resolvedAt < window * _options.ReopenWithinWindows
            && rca.Candidates[0].Service == resolved.Service
            && rca.FaultType.Kind == resolved.FaultKind;
    }

    /// <summary>The incident as it ended: its latest event with state resolved.</summary>
    private static OpenIncident Resolve(OpenIncident open, DateTimeOffset at) =>
        open with
        {
            Latest = open.Latest with
            {
                Incident = open.Latest.Incident! with { State = IncidentInfo.Resolved, ResolvedAt = at },
            },
        };

    /// <summary>Whether the event's verdict belongs to the open incident: one of them explains the other along the call
    /// graph.</summary>
    private static bool Related(OpenIncident open, RcaEvent rca)
    {
        var incident = Services(open.Latest)
            .Concat(open.RootScores.Where(kv => kv.Value >= 0.5).Select(kv => kv.Key))
            .ToHashSet();
        return Services(rca).Any(incident.Contains);
    }

    /// <summary>The root, its hypotheses and its blast radius.</summary>
    private static IEnumerable<string> Services(RcaEvent rca) =>
        new[] { rca.Candidates[0].Service }
            .Concat(rca.Verdict?.Hypotheses?.Select(h => h.Service) ?? [])
            .Concat(rca.ImpactedServices?.Select(s => s.Service) ?? []);

    /// <summary>The verdict's evidence as a sparse vector: each measurement's attribution (its |deviation| without a
    /// model).</summary>
    public static IEnumerable<KeyValuePair<string, double>> EvidenceVector(RcaEvent rca) =>
        rca
            .Evidence.Features.Select(f => new KeyValuePair<string, double>(
                f.Feature,
                Math.Abs(f.Attribution ?? f.Deviation ?? 1)
            ))
            .Concat(
                rca.Evidence.Neighbours.Select(n => new KeyValuePair<string, double>(
                    n.Relation + ":" + n.Symptom.Split(' ')[0],
                    Math.Abs(n.Attribution ?? 0.1)
                ))
            );

    public IReadOnlyList<OpenIncident> Open
    {
        get
        {
            lock (_lock)
                return _open.Values.ToArray();
        }
    }
}
