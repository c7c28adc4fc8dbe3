using LogWhisperer.Explain;

namespace LogWhisperer.Sinks;

/// <summary>One incident as alert routers see it: a cluster whose rank-1 root cause stays the same service.</summary>
/// <param name="First">The event that opened it (its labels, e.g. the fault kind, stay those of this event).</param>
/// <param name="Latest">The newest event of it (descriptions follow this one).</param>
public sealed record OpenIncident(string Cluster, string Service, RcaEvent First, RcaEvent Latest);

/// <summary>What one event or quiet window changed.</summary>
/// <param name="Resolved">The incident that ended (quiet window, or the root cause moved to another service).</param>
/// <param name="Current">The incident now open, if any.</param>
/// <param name="Opened">Whether <paramref name="Current"/> began with this event.</param>
public readonly record struct IncidentChange(OpenIncident? Resolved, OpenIncident? Current, bool Opened);

/// <summary>
/// Turns the engine's stream (an event per incident window, quiet windows in between) into incidents that
/// open and resolve, per cluster. Shared by the Alertmanager, Opsgenie and Slack sinks.
/// </summary>
public sealed class IncidentTracker
{
    private readonly Dictionary<string, OpenIncident> _open = [];
    private readonly Lock _lock = new();

    public IncidentChange Observe(RcaEvent rca)
    {
        string service = rca.Candidates[0].Service;
        lock (_lock)
        {
            if (_open.TryGetValue(rca.Cluster, out var open) && open.Service == service)
                return new IncidentChange(null, _open[rca.Cluster] = open with { Latest = rca }, false);
            var opened = _open[rca.Cluster] = new OpenIncident(rca.Cluster, service, rca, rca);
            return new IncidentChange(open, opened, true);
        }
    }

    public IncidentChange Quiet(string cluster)
    {
        lock (_lock) return _open.Remove(cluster, out var open) ? new IncidentChange(open, null, false) : default;
    }

    public IReadOnlyList<OpenIncident> Open { get { lock (_lock) return _open.Values.ToArray(); } }
}
