using LogWhisperer.Explain;

namespace LogWhisperer.Sinks;

/// <summary>What an alert router is told: an incident opened, was updated, or resolved.</summary>
/// <param name="First">The event that opened it (alert identity and labels).</param>
/// <param name="Latest">Its newest event (descriptions); for "resolved", the resolution event when there is
/// one.</param>
internal sealed record IncidentNotice(
    string State,
    string Id,
    string Cluster,
    string Service,
    RcaEvent First,
    RcaEvent Latest,
    string? Reason = null
);

/// <summary>
/// Turns the events an alert sink receives into incident notices. Behind the incident stage it reads each
/// event's <see cref="RcaEvent.Incident"/>. Used on its own (events without an incident, e.g. a sink wired
/// straight to a pipeline) it groups windows itself with an <see cref="IncidentTracker"/> that resolves on the
/// first quiet window.
/// </summary>
internal sealed class IncidentFeed
{
    private readonly Dictionary<string, (RcaEvent First, RcaEvent Latest)> _open = [];
    private readonly IncidentTracker _own = new(new IncidentOptions { ResolveAfterQuietWindows = 1 });
    private readonly Lock _lock = new();

    public IReadOnlyList<IncidentNotice> OnEvent(RcaEvent rca)
    {
        if (rca.Incident is not null)
            return Apply(rca, reason: null);
        var change = _own.Observe(rca);
        return Apply(
            change.Event!,
            change.Resolved is { } r ? "root cause moved to " + change.Event!.Incident!.RootCause : null
        );
    }

    public IReadOnlyList<IncidentNotice> OnQuiet(string cluster, DateTimeOffset windowEnd) =>
        _own.Quiet(cluster, windowEnd).Event is { } resolution
            ? Apply(resolution, $"quiet window ending {windowEnd:u}")
            : [];

    private List<IncidentNotice> Apply(RcaEvent rca, string? reason)
    {
        var info = rca.Incident!;
        var notices = new List<IncidentNotice>();
        lock (_lock)
        {
            if (info.Supersedes is { } old && _open.Remove(old, out var superseded))
                notices.Add(
                    Notice(
                        IncidentInfo.Resolved,
                        old,
                        superseded.First,
                        superseded.Latest,
                        reason ?? "root cause moved to " + info.RootCause
                    )
                );
            if (info.State == IncidentInfo.Resolved)
            {
                if (_open.Remove(info.Id, out var open))
                    notices.Add(Notice(IncidentInfo.Resolved, info.Id, open.First, rca, reason ?? "quiet windows"));
                return notices;
            }
            // An update of an incident this sink never saw open (e.g. after a restart) opens it here; a reopened
            // incident is opened again (routers page again for it, under the same id).
            bool known = _open.TryGetValue(info.Id, out var seen);
            _open[info.Id] = (known ? seen.First : rca, rca);
            notices.Add(
                Notice(
                    known ? IncidentInfo.Updated : IncidentInfo.Opened,
                    info.Id,
                    known ? seen.First : rca,
                    rca,
                    info.State == IncidentInfo.Reopened
                        ? "reopened: its symptoms came back soon after it resolved"
                        : null
                )
            );
        }
        return notices;
    }

    private static IncidentNotice Notice(string state, string id, RcaEvent first, RcaEvent latest, string? reason) =>
        new(state, id, first.Cluster, first.Incident?.RootCause ?? first.Candidates[0].Service, first, latest, reason);
}
