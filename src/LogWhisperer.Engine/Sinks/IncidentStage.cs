using LogWhisperer.Explain;

namespace LogWhisperer.Sinks;

/// <summary>
/// The incident stage, between the explainer and the sinks: every event leaves with its incident (and the
/// similar past incidents), quiet windows resolve incidents with an event of their own, and finished incidents
/// go to the store that "similar incidents" and verdict feedback read. Downstream sinks see incidents, not
/// windows: alert routers open, update and resolve from <see cref="RcaEvent.Incident"/>.
/// </summary>
public sealed class IncidentStage(IRcaSink next, IncidentOptions? options = null, IncidentStore? store = null)
    : IRcaSink
{
    private readonly IncidentOptions _options = options ?? new();

    // per open incident
    private readonly Dictionary<string, (string Root, IReadOnlyList<SimilarIncident> Similar)> _similar = [];

    public IncidentTracker Tracker { get; } = new(options);
    public IncidentStore Store { get; } = store ?? new IncidentStore();

    public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
    {
        var change = Tracker.Observe(rca);
        if (change.Resolved is { } resolved)
            Finish(resolved);
        var incident = Tracker.Open.First(o => o.Cluster == rca.Cluster);
        // Looked up when the incident opens and again only when its root cause changes: a scan of the store per
        // window would cost ~0.2 ms per event with 1,000 past incidents, for the same answer.
        if (!_similar.TryGetValue(incident.Id, out var cached) || cached.Root != incident.Service)
        {
            _similar.Remove(change.Resolved?.Id ?? "");
            _similar[incident.Id] = cached = (
                incident.Service,
                Store.Similar(
                    incident.Id,
                    incident.Cluster,
                    incident.Service,
                    incident.FaultKind,
                    incident.Evidence,
                    incident.First.WindowStart,
                    _options.SimilarIncidents,
                    _options.MinSimilarity
                )
            );
        }
        await next.WriteAsync(
            change.Event! with
            {
                SimilarIncidents = cached.Similar.Count > 0 ? cached.Similar : null,
            },
            cancellationToken
        );
    }

    public async ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken)
    {
        var change = Tracker.Quiet(cluster, windowEnd);
        if (change.Resolved is { } resolved)
        {
            _similar.Remove(resolved.Id);
            Finish(resolved);
            await next.WriteAsync(change.Event!, cancellationToken);
        }
        await next.QuietAsync(cluster, windowEnd, cancellationToken);
    }

    /// <summary>Into the store, keeping any feedback people gave while it was open.</summary>
    private void Finish(OpenIncident incident)
    {
        var judged = Store.Find(incident.Id);
        Store.Put(
            StoredIncident.From(incident) with
            {
                Feedback = judged?.Feedback,
                ActualRootCause = judged?.ActualRootCause,
            }
        );
    }
}
