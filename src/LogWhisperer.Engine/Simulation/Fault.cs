using System.Text.Json.Serialization;

namespace LogWhisperer.Simulation;

/// <summary>The kinds of fault the chaos simulator injects (and the model learns to name).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FaultKind>))]
public enum FaultKind
{
    /// <summary>The service's own processing slows down.</summary>
    Latency,

    /// <summary>The service answers a share of requests with errors (exceptions, 5xx).</summary>
    Errors,

    /// <summary>The pod is killed: the service is unreachable and silent until it restarts.</summary>
    PodKill,

    /// <summary>A noisy neighbour or runaway loop burns CPU; everything on the pod slows.</summary>
    CpuHog,

    /// <summary>Memory grows until the container is OOM-killed, again and again.</summary>
    MemoryLeak,

    /// <summary>Packets to the service are lost: callers time out and retry, the service itself looks calm.</summary>
    NetworkLoss,

    /// <summary>A new version rolls out with a bug: new exception templates and errors.</summary>
    BadDeploy,

    /// <summary>The container crashes soon after every start; Kubernetes restarts it with a growing back-off, so it
    /// flaps between short lives (fatal logs, restarts) and telemetry gaps.</summary>
    CrashLoop,

    /// <summary>A backing store (database, cache, queue) answers a share of requests very slowly (lock contention,
    /// slow disk): a heavy latency tail, slow-query logs, and callers that time out and retry.</summary>
    SlowDependency,

    /// <summary>Packets to and from one pod are delayed (tc netem): its own server spans look normal, its callers
    /// see the delay, and its own outgoing calls take longer.</summary>
    NetworkDelay,

    /// <summary>A configuration change (ConfigMap, feature flag) takes effect with a bad value — e.g. a connection pool
    /// cut to two — without a restart: pool-exhaustion errors and queueing latency. Not drawn by default
    /// (<see cref="IncidentPlan.AllKinds"/>): the shipped model has no fault-kind output for it yet.</summary>
    ConfigChange,
}

/// <summary>One injected fault, which is also the ground truth of the incident it causes.</summary>
/// <param name="Intensity">0..1: how hard the fault hits.</param>
public sealed record Fault(string Service, FaultKind Kind, long StartMs, long EndMs, double Intensity)
{
    public bool IsActive(long timeMs) => timeMs >= StartMs && timeMs < EndMs;

    /// <summary>
    /// Half of the Errors and BadDeploy faults (chosen by onset second, so a pure function of the fault) take the
    /// form real code-level injections take: an exception only the caller logs (the root's own spans and logs stay
    /// quiet), or a wrong return value that the caller fails on ("Result is null"), so the errors surface a hop up.
    /// </summary>
    public bool SurfacesInCaller => Kind is FaultKind.Errors or FaultKind.BadDeploy && StartMs / 1000 % 2 == 0;
}
