namespace LogWhisperer.Explain;

/// <summary>
/// The incident an event belongs to (set by the incident stage, <see cref="Sinks.IncidentTracker"/>): one per root
/// cause, its windows grouped along the call graph.
/// </summary>
/// <param name="Id">Stable: inc-&lt;cluster&gt;-&lt;start ms of its first window&gt;.</param>
/// <param name="State">"opened" (first window), "updated", "resolved" (quiet windows followed it; the event repeats its
/// last verdict), or "reopened" (a verdict naming its root and kind came soon after it resolved: the same incident
/// again, not a new one).</param>
/// <param name="RootCause">The incident's root cause so far: the service with the most root-cause score summed over its
/// windows (may differ from this window's rank 1).</param>
/// <param name="Windows">Windows judged to be part of it so far.</param>
/// <param name="Supersedes">The incident this one replaced when an unrelated root cause took over (that one is
/// resolved).</param>
public sealed record IncidentInfo(
    string Id,
    string State,
    DateTimeOffset OpenedAt,
    string RootCause,
    int Windows,
    DateTimeOffset? ResolvedAt = null,
    string? Supersedes = null
)
{
    public const string Opened = "opened",
        Updated = "updated",
        Resolved = "resolved",
        Reopened = "reopened";
}

/// <summary>An earlier incident whose evidence looks like this one's, with what people said about it.</summary>
/// <param name="Similarity">0..1: cosine of the attributed evidence, with the root cause and fault kind
/// agreeing.</param>
/// <param name="Feedback">"confirmed", "rejected" or "corrected" when someone judged its verdict; omitted
/// otherwise.</param>
/// <param name="ActualRootCause">The root cause people named when they corrected it.</param>
public sealed record SimilarIncident(
    string Id,
    string Cluster,
    string RootCause,
    string FaultKind,
    DateTimeOffset OpenedAt,
    double Similarity,
    string? Feedback = null,
    string? ActualRootCause = null
);

/// <summary>How urgent the incident is, from the error budgets it burns (SLOs of entry services in the
/// settings).</summary>
/// <param name="Severity">"page" when an SLO burns faster than its budget allows (burn rate ≥ 1), else
/// "warning".</param>
/// <param name="BurnRate">The highest burn rate in this window: the bad share of requests divided by the share the
/// objective allows.</param>
/// <param name="Slo">The SLO burning fastest (service and objective), omitted when none burns.</param>
public sealed record Urgency(string Severity, double BurnRate, string? Slo = null)
{
    public const string Page = "page",
        Warning = "warning";
}
