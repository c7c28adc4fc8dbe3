namespace LogWhisperer.Changes;

/// <summary>What kind of change happened to a service.</summary>
public enum ChangeKind
{
    Rollout,
    Config,
    Scale,
    Other,
}

/// <summary>
/// One change to a service — a rollout of a new version, a configuration change, a scaling — as deploy tools
/// and Kubernetes report it. Changes are the engine's fourth input beside logs, metrics and traces: not windowed
/// or featurized, but kept per cluster and weighed against the model's ranking after scoring
/// (<see cref="ChangeCorrelator"/>).
/// </summary>
/// <param name="TimestampMs">When the change started (Unix ms, event time).</param>
/// <param name="Source">Where it came from (generic, kubernetes, argocd, flux, simulator).</param>
public sealed record ChangeEvent(
    long TimestampMs,
    string Cluster,
    string Service,
    ChangeKind Kind,
    string? FromVersion,
    string? ToVersion,
    string? Description,
    string Source = "generic"
)
{
    /// <summary>"the rollout of adservice v2" / "a configuration change of cartservice" — for sentences.</summary>
    public string Phrase() =>
        Kind switch
        {
            ChangeKind.Rollout => $"the rollout of {Service}{(ToVersion is null ? "" : " " + ToVersion)}",
            ChangeKind.Config =>
                $"a configuration change of {Service}{(Description is null ? "" : $" ({Description})")}",
            ChangeKind.Scale => $"the scaling of {Service}",
            _ => $"a change of {Service}{(Description is null ? "" : $" ({Description})")}",
        };
}
