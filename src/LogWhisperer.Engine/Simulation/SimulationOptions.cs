namespace LogWhisperer.Simulation;

public sealed record SimulationOptions
{
    public string Cluster { get; init; } = "sim";
    public int Seed { get; init; } = 1;

    /// <summary>Event time of the first simulated second (Unix ms).</summary>
    public long StartMs { get; init; } =
        new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>Scales the topology's requests per second.</summary>
    public double LoadFactor { get; init; } = 1;
    public int ScrapeIntervalMs { get; init; } = 5000;

    /// <summary>Share of successful requests that write an info log line (errors are always logged).</summary>
    public double InfoLogSampling { get; init; } = 0.3;

    /// <summary>
    /// Share of services that write their info line on every successful request, as services with an access log
    /// or a "[method][params]" line per call do (Train-Ticket's Java services). Their operations then have one
    /// usual shape, and a request cut short by an exception is missing a line it always had: the mark a root
    /// that logs nothing itself leaves. 0 by default (every service samples at <see cref="InfoLogSampling"/>).
    /// </summary>
    public double SteadyLoggingShare { get; init; }

    /// <summary>Mean number of benign events (deploys, load spikes, GC pauses) per simulated hour.</summary>
    public double BenignEventsPerHour { get; init; } = 6;

    /// <summary>
    /// Also export the Istio request metrics (istio_requests_total, istio_request_duration_milliseconds) per
    /// workload. Off by default: the engine does not read them, and they add many samples per scrape.
    /// </summary>
    public bool IstioMetrics { get; init; }

    /// <summary>Whether spans carry an error status. Auto-instrumentation often sets none (Nezha's export has
    /// none).</summary>
    public bool SpanStatus { get; init; } = true;

    /// <summary>Whether callers record client spans. Without them a callee's server span is the child of its
    /// caller's server span, as with server-side-only instrumentation; edges are then read from that nesting.</summary>
    public bool ClientSpans { get; init; } = true;

    /// <summary> Share of services that chatter: they write a steady warn or error line of their own (a recurring "not
    /// found", an empty result) in some of the requests they serve, fault or no fault, as real services do
    /// (Train-Ticket's order service warns on most seat queries). Teaches that a loud but usual template is not a
    /// cause.
    /// </summary>
    public double NoisyServiceShare { get; init; }

    /// <summary>
    /// Share of services whose latency has weather of its own: bursts (a noisy neighbour, a GC storm, a cold
    /// cache) about every three minutes, 10–40 s at 1.5–4× their usual latency, fault or no fault, as real
    /// services' latency does. Teaches that one service's latency spike, with nothing else, is weak evidence.
    /// </summary>
    public double JitteryServiceShare { get; init; }

    /// <summary>
    /// Share of requests, in every service, that take 3–10× their usual time (a GC pause, a cold path, a
    /// retried query): real latency has a heavy tail, so a p95 over a few requests swings from window to
    /// window without any fault. Drawn from a stream of its own (0: the traffic is drawn exactly as without it).
    /// </summary>
    public double LatencyTailShare { get; init; }

    /// <summary>
    /// Share of services whose failure lines name the peer that failed them ("rpc error calling X"); the others
    /// only say that processing failed. 1 by default (every caller names its peer, as before).
    /// </summary>
    public double PeerNamingShare { get; init; } = 1;

    /// <summary>
    /// Healthy services fail a share of their requests of their own (a bad input, a flaky lookup): each service's
    /// share is drawn log-uniformly between 0.1 % and this (0: every service at 0.1 %, as before). Real meshes
    /// have services that fail 1 % of their requests every day, so one error line in a quiet window is no incident.
    /// </summary>
    public double MaxBackgroundErrorRate { get; init; }

    /// <summary>Kubernetes namespace the mesh runs in (labels of the exported telemetry).</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>
    /// Share of change-caused faults (BadDeploy, ConfigChange) joined by one or two benign changes to other services
    /// within a minute of the bad one (a release train, a config sweep), so that "something changed" is never proof.
    /// </summary>
    public double ConcurrentBenignChanges { get; init; } = 0.7;

    /// <summary>Mean number of benign configuration changes per simulated hour (they change nothing
    /// observable).</summary>
    public double BenignConfigChangesPerHour { get; init; } = 4;
}
