namespace LogWhisperer.Features;

/// <summary>Raw per-service measurements of one window, before normalisation.</summary>
public enum Measurement
{
    RequestRate,
    ErrorRatio,
    OriginErrorRatio,
    LatencyP50,
    LatencyP95,
    SelfTimeP95,
    LogRate,
    ErrorLogRatio,
    NewTemplateRatio,
    CpuCores,
    MemoryBytes,
    Restarts,
    TelemetryRate,
    OutboundErrorRatio,
    InboundErrorRatio,
    InboundLatencyP95,
    InboundCallRate,
    LatencyP99,
    ErrorSpanCount,
    ErrorLogCount,
    NewTemplateLineCount,
    TraceSpectrum,
    DeepestAnomalyShare,
    SlowSpanCount,
    ShiftedErrorLineCount,
    EventRise,
    EventFall,
    AnomalousTraces,
    WindowAnomalousTraces,
    OwnErrorLogCount,
}

/// <summary>How a model feature is derived from its measurement.</summary>
public enum FeatureTransform
{
    /// <summary>Robust z-score against the service's own recent baseline (median/MAD), squashed.</summary>
    RobustZ,

    /// <summary>The measurement as it is (already a 0..1 ratio).</summary>
    Ratio,

    /// <summary>Restarts in the window, capped at 3 and scaled to 0..1.</summary>
    RestartCount,

    /// <summary>How far the service's telemetry fell below its baseline volume (1 = silent).</summary>
    Drop,

    /// <summary>
    /// A count per window against its baseline count, as a z-score that stays honest at low counts: under a
    /// Poisson model the Anscombe transform 2·√(k + 3/8) has unit variance, so the difference of transformed
    /// count and transformed baseline reads like a z-score whether the service logs 2 lines or 20,000. The
    /// median/MAD z of a ratio does not: with 3 requests in a window one error is a 33 % error ratio.
    /// </summary>
    CountSurprise,

    /// <summary>The measurement is already a deviation in σ (e.g. an event's count z-score): squashed only.</summary>
    Squashed,
}

public static class FeatureTransformExtensions
{
    /// <summary>Whether the feature is a (squashed) deviation from baseline in σ, rather than a share or a
    /// count.</summary>
    public static bool IsDeviation(this FeatureTransform transform) =>
        transform is FeatureTransform.RobustZ or FeatureTransform.CountSurprise or FeatureTransform.Squashed;
}

public sealed record MeasurementInfo(
    Measurement Id,
    string Name,
    string Label,
    string Unit,
    string Source,
    double AbsoluteFloor
);

public sealed record FeatureInfo(string Name, Measurement Measurement, FeatureTransform Transform, string Description);

/// <summary>Node features (and edge measurement features) that come from one kind of evidence.</summary>
public sealed record EvidenceGroup(string Name, int[] NodeFeatures, int[] EdgeFeatures);

/// <summary>
/// The versioned contract between featurizer, snapshots and model: every feature's name, unit and source.
/// A model refuses snapshots of another version (see <see cref="Scoring.GatModel"/>).
/// </summary>
public static class FeatureSchema
{
    public const string Version = "lw-features/5";

    public static readonly MeasurementInfo[] Measurements =
    [
        new(
            Measurement.RequestRate,
            "request_rate",
            "its request rate",
            "req/s",
            "traces: server spans (else Istio istio_requests_total)",
            0.5
        ),
        new(
            Measurement.ErrorRatio,
            "error_ratio",
            "its error ratio",
            "ratio",
            "traces: server spans with error status (else Istio 5xx share)",
            0.02
        ),
        new(
            Measurement.OriginErrorRatio,
            "origin_error_ratio",
            "its own error ratio",
            "ratio",
            "traces: errors with no failed downstream call",
            0.02
        ),
        new(
            Measurement.LatencyP50,
            "latency_p50",
            "its median latency",
            "ms",
            "traces: server span duration (else Istio duration histogram)",
            0.5
        ),
        new(
            Measurement.LatencyP95,
            "latency_p95",
            "its p95 latency",
            "ms",
            "traces: server span duration (else Istio duration histogram)",
            1
        ),
        new(
            Measurement.SelfTimeP95,
            "self_time_p95",
            "its p95 self time",
            "ms",
            "traces: server span minus its client calls",
            0.5
        ),
        new(Measurement.LogRate, "log_rate", "its log volume", "lines/s", "logs", 0.2),
        new(
            Measurement.ErrorLogRatio,
            "error_log_ratio",
            "its warn/error log share",
            "ratio",
            "logs: warn and error lines",
            0.02
        ),
        new(
            Measurement.NewTemplateRatio,
            "new_template_ratio",
            "the share of log lines from never-seen templates",
            "ratio",
            "logs: lines of never-seen templates",
            0.02
        ),
        new(
            Measurement.CpuCores,
            "cpu_usage",
            "its CPU use",
            "cores",
            "metrics: container_cpu_usage_seconds_total rate",
            0.01
        ),
        new(
            Measurement.MemoryBytes,
            "memory_working_set",
            "its memory working set",
            "bytes",
            "metrics: container_memory_working_set_bytes",
            4 << 20
        ),
        new(
            Measurement.Restarts,
            "restarts",
            "its restarts",
            "count",
            "metrics: kube_pod_container_status_restarts_total increase",
            0
        ),
        new(Measurement.TelemetryRate, "telemetry_rate", "its telemetry volume", "records/s", "all modalities", 0.5),
        new(
            Measurement.OutboundErrorRatio,
            "outbound_error_ratio",
            "the share of its own calls failing",
            "ratio",
            "traces: this service's failed client calls",
            0.02
        ),
        new(
            Measurement.InboundErrorRatio,
            "inbound_error_ratio",
            "the share of calls to it failing",
            "ratio",
            "traces: callers' failed calls to this service",
            0.02
        ),
        new(
            Measurement.InboundLatencyP95,
            "inbound_latency_p95",
            "callers' p95 latency to it",
            "ms",
            "traces: callers' client span duration",
            1
        ),
        new(
            Measurement.InboundCallRate,
            "inbound_call_rate",
            "calls to it",
            "calls/s",
            "traces: callers' client spans",
            0.5
        ),
        new(
            Measurement.LatencyP99,
            "latency_p99",
            "its p99 latency",
            "ms",
            "traces: server span duration (else Istio duration histogram)",
            1
        ),
        new(
            Measurement.ErrorSpanCount,
            "error_spans",
            "its failed requests",
            "requests",
            "traces: server spans with error status",
            0
        ),
        new(Measurement.ErrorLogCount, "error_logs", "its error log lines", "lines", "logs: error and fatal lines", 0),
        new(
            Measurement.NewTemplateLineCount,
            "new_template_lines",
            "its log lines from never-seen templates",
            "lines",
            "logs: lines of never-seen templates",
            0
        ),
        new(
            Measurement.TraceSpectrum,
            "trace_spectrum",
            "how specific it is to the anomalous requests (Ochiai)",
            "0..1",
            "traces: anomalous vs normal traces through it, logs attached",
            0
        ),
        new(
            Measurement.DeepestAnomalyShare,
            "deepest_anomaly_share",
            "the share of anomalous requests whose deepest anomaly is in it",
            "share",
            "traces: deepest anomalous span of each anomalous trace",
            0
        ),
        new(
            Measurement.SlowSpanCount,
            "slow_spans",
            "its requests far slower than usual for their operation",
            "requests",
            "traces: server spans over 2× their operation's p99",
            0
        ),
        new(
            Measurement.ShiftedErrorLineCount,
            "shifted_error_lines",
            "its trace-linked warn/error lines of new or surging templates",
            "lines",
            "logs: trace-linked lines of never-seen or surging templates",
            0
        ),
        new(
            Measurement.EventRise,
            "event_rise",
            "the largest rise of one of its events (log template, operation, call)",
            "σ",
            "events: log templates, operations served, calls made vs baseline",
            0
        ),
        new(
            Measurement.EventFall,
            "event_fall",
            "the largest fall of one of its usual events",
            "σ",
            "events: log templates, operations served, calls made vs baseline",
            0
        ),
        new(
            Measurement.AnomalousTraces,
            "anomalous_traces",
            "anomalous requests passing through it",
            "traces",
            "traces: anomalous traces through it at or below their deepest anomaly",
            0
        ),
        new(
            Measurement.WindowAnomalousTraces,
            "window_anomalous_traces",
            "anomalous requests in the window",
            "traces",
            "traces: all anomalous traces of the window",
            0
        ),
        new(
            Measurement.OwnErrorLogCount,
            "own_error_logs",
            "its error lines about itself (naming no other service)",
            "lines",
            "logs: error and fatal lines that name no other service of the mesh",
            0
        ),
    ];

    public static readonly FeatureInfo[] NodeFeatures =
    [
        new("request_rate_z", Measurement.RequestRate, FeatureTransform.RobustZ, "requests served vs baseline"),
        new("error_ratio", Measurement.ErrorRatio, FeatureTransform.Ratio, "share of requests failing"),
        new("error_ratio_z", Measurement.ErrorRatio, FeatureTransform.RobustZ, "failing share vs baseline"),
        new(
            "origin_error_ratio",
            Measurement.OriginErrorRatio,
            FeatureTransform.Ratio,
            "share of requests failing in this service itself"
        ),
        new("origin_error_ratio_z", Measurement.OriginErrorRatio, FeatureTransform.RobustZ, "own failures vs baseline"),
        new("latency_p50_z", Measurement.LatencyP50, FeatureTransform.RobustZ, "median latency vs baseline"),
        new("latency_p95_z", Measurement.LatencyP95, FeatureTransform.RobustZ, "p95 latency vs baseline"),
        new(
            "self_time_p95_z",
            Measurement.SelfTimeP95,
            FeatureTransform.RobustZ,
            "p95 own processing time vs baseline"
        ),
        new("log_rate_z", Measurement.LogRate, FeatureTransform.RobustZ, "log volume vs baseline"),
        new(
            "error_log_ratio_z",
            Measurement.ErrorLogRatio,
            FeatureTransform.RobustZ,
            "warn/error log share vs baseline"
        ),
        new(
            "new_template_ratio",
            Measurement.NewTemplateRatio,
            FeatureTransform.Ratio,
            "share of log lines from never-seen templates"
        ),
        new("cpu_usage_z", Measurement.CpuCores, FeatureTransform.RobustZ, "CPU use vs baseline"),
        new("memory_z", Measurement.MemoryBytes, FeatureTransform.RobustZ, "memory working set vs baseline"),
        new("restarts", Measurement.Restarts, FeatureTransform.RestartCount, "container restarts in the window"),
        new("telemetry_drop", Measurement.TelemetryRate, FeatureTransform.Drop, "how silent the service went"),
        new(
            "outbound_error_ratio",
            Measurement.OutboundErrorRatio,
            FeatureTransform.Ratio,
            "share of this service's calls failing"
        ),
        new(
            "inbound_error_ratio",
            Measurement.InboundErrorRatio,
            FeatureTransform.Ratio,
            "share of calls to this service failing"
        ),
        new(
            "inbound_error_ratio_z",
            Measurement.InboundErrorRatio,
            FeatureTransform.RobustZ,
            "failing calls to it vs baseline"
        ),
        new(
            "inbound_latency_p95_z",
            Measurement.InboundLatencyP95,
            FeatureTransform.RobustZ,
            "callers' p95 latency to it vs baseline"
        ),
        new("inbound_call_rate_z", Measurement.InboundCallRate, FeatureTransform.RobustZ, "calls to it vs baseline"),
        // lw-features/2: the tail, and counts that stay meaningful when a service handles a few requests per window.
        new("latency_p99_z", Measurement.LatencyP99, FeatureTransform.RobustZ, "p99 latency vs baseline"),
        new(
            "error_span_surprise",
            Measurement.ErrorSpanCount,
            FeatureTransform.CountSurprise,
            "failed requests vs baseline count"
        ),
        new(
            "error_log_surprise",
            Measurement.ErrorLogCount,
            FeatureTransform.CountSurprise,
            "error log lines vs baseline count"
        ),
        new(
            "new_template_surprise",
            Measurement.NewTemplateLineCount,
            FeatureTransform.CountSurprise,
            "lines of never-seen templates vs baseline count"
        ),
        // lw-features/3: traces with their logs attached (log–trace linkage), and event-pattern shift.
        new(
            "trace_spectrum",
            Measurement.TraceSpectrum,
            FeatureTransform.Ratio,
            "Ochiai score: anomalous vs normal traces passing through it, at or below their deepest anomaly"
        ),
        new(
            "deepest_anomaly_share",
            Measurement.DeepestAnomalyShare,
            FeatureTransform.Ratio,
            "share of anomalous traces whose deepest anomaly is in it"
        ),
        new(
            "slow_span_surprise",
            Measurement.SlowSpanCount,
            FeatureTransform.CountSurprise,
            "requests far slower than their operation's baseline, vs baseline count"
        ),
        new(
            "shifted_error_surprise",
            Measurement.ShiftedErrorLineCount,
            FeatureTransform.CountSurprise,
            "trace-linked warn/error lines of new or surging templates vs baseline count"
        ),
        new(
            "event_rise",
            Measurement.EventRise,
            FeatureTransform.Squashed,
            "largest rise of one of its events against its baseline count"
        ),
        new("event_fall", Measurement.EventFall, FeatureTransform.Squashed, "largest fall of one of its usual events"),
        // lw-features/4: a service's error lines about itself, apart from those reporting on a peer.
        new(
            "own_error_surprise",
            Measurement.OwnErrorLogCount,
            FeatureTransform.CountSurprise,
            "error lines naming no other service vs baseline count"
        ),
    ];

    /// <summary>Per-edge model features: the first three from the caller's client spans, then the edge's
    /// role.</summary>
    public static readonly string[] EdgeFeatures =
    [
        "call_rate_z",
        "error_ratio",
        "latency_p95_z",
        "is_call",
        "is_reverse",
        "is_self",
    ];
    public const int EdgeMeasurements = 3; // call rate, error ratio, latency p95
    public static readonly double[] EdgeFloors = [0.5, 0.02, 1];

    /// <summary>
    /// Evidence a real deployment may not have: traces whose spans carry no error status (common with
    /// auto-instrumentation, and so in Nezha's export), no traces, no logs, no metrics. Training withholds
    /// one group now and then, so the model learns to rank from what is left instead of relying on one signal.
    /// </summary>
    public static readonly EvidenceGroup[] EvidenceGroups =
    [
        new(
            "trace error status",
            Features(m =>
                m.Source.StartsWith("traces", StringComparison.Ordinal)
                && (m.Source.Contains("error") || m.Source.Contains("failed"))
            ),
            [1]
        ),
        new("traces", Features(m => m.Source.StartsWith("traces", StringComparison.Ordinal)), [0, 1, 2]),
        new("logs", Features(m => m.Source.StartsWith("logs", StringComparison.Ordinal)), []),
        new("metrics", Features(m => m.Source.StartsWith("metrics", StringComparison.Ordinal)), []),
    ];

    private static int[] Features(Func<MeasurementInfo, bool> from) =>
        Enumerable
            .Range(0, NodeFeatures.Length)
            .Where(k => from(Measurements[(int)NodeFeatures[k].Measurement]))
            .ToArray();

    public static int NodeFeatureCount => NodeFeatures.Length;
    public static int EdgeFeatureCount => EdgeFeatures.Length;
    public static int MeasurementCount => Measurements.Length;

    /// <summary>Squashes a z-score so that huge deviations stay informative but bounded.</summary>
    public static float Squash(double z) => (float)(Math.Sign(z) * Math.Log(1 + Math.Min(Math.Abs(z), 1000)));

    /// <summary>
    /// See <see cref="FeatureTransform.Drop"/>: the share of the usual volume that is missing, weighted by how far the
    /// count is from chance. A service that usually sends 3 records a window and sent none is missing all of them,
    /// yet that happens by chance (Poisson: 5 % of windows; more with bursty traffic), and in a quiet mesh of 46
    /// services several such silences fall in every window. Full weight from a shortfall of
    /// <see cref="DropCertainZ"/> on the count-surprise scale (silence where about 7 records were due).
    /// </summary>
    public static float DropEvidence(double count, double baselineCount)
    {
        double share = Math.Clamp(1 - count / baselineCount, 0, 1);
        double certainty = Math.Clamp(-CountZ(count, baselineCount) / DropCertainZ, 0, 1);
        return (float)(share * certainty);
    }

    /// <summary>The count surprise (see <see cref="CountZ"/>) at which a drop is taken at face value.</summary>
    public const double DropCertainZ = 4;

    /// <summary>See <see cref="FeatureTransform.CountSurprise"/>: the Anscombe-transformed count minus the transformed
    /// baseline.</summary>
    public static double CountZ(double count, double baselineCount)
    {
        if (!double.IsFinite(count) || !double.IsFinite(baselineCount))
            return 0;
        return 2 * (Math.Sqrt(Math.Max(0, count) + 0.375) - Math.Sqrt(Math.Max(0, baselineCount) + 0.375));
    }
}
