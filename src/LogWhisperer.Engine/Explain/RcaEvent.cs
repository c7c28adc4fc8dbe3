using System.Text.Json;
using System.Text.Json.Serialization;

namespace LogWhisperer.Explain;

/// <summary>
/// RCA event, schema v1: what the engine emits for a window it judges to be an incident. Field names are
/// the JSON contract consumed by dashboards and alert routers; add fields, never rename them within v1.
/// </summary>
public sealed record RcaEvent
{
    public const string SchemaId = "logwhisperer.rca/v1";

    /// <summary>The JSON Schema of this event: its <c>$id</c>, and the CloudEvent's dataschema (see
    /// <see cref="RcaSchemas"/>).</summary>
    public const string SchemaUri = "https://logwhisperer.dev/schemas/rca-event.v1.schema.json";
    public string Schema { get; init; } = SchemaId;
    public required string Id { get; init; }
    public required string Cluster { get; init; }
    public required DateTimeOffset WindowStart { get; init; }
    public required DateTimeOffset WindowEnd { get; init; }

    /// <summary>How sure the model is that this window holds an incident at all (0..1).</summary>
    public required double IncidentProbability { get; init; }
    public required IReadOnlyList<RcaCandidate> Candidates { get; init; }
    public required FaultGuess FaultType { get; init; }
    public required string Explanation { get; init; }
    public required RcaEvidence Evidence { get; init; }

    /// <summary>True when the verdict was reached without some evidence (see <see cref="MissingEvidence"/>,
    /// <see cref="SparseEvidence"/>); absent when complete.</summary>
    public bool? Degraded { get; init; }

    /// <summary>Modalities ("logs", "traces", "metrics") with no records at all in the window; absent when
    /// none.</summary>
    public IReadOnlyList<string>? MissingEvidence { get; init; }

    /// <summary>Modalities present but too sparse to measure well (e.g. traces sampled to 1 %); absent when
    /// none.</summary>
    public IReadOnlyList<string>? SparseEvidence { get; init; }

    /// <summary>The change (rollout, configuration change) the verdict is tied to: the root candidate's own change
    /// shortly before the onset; absent when none.</summary>
    public RcaChange? Change { get; init; }

    // Incidents (issue #14): the verdict's clarity and blast radius (explainer), the incident, its urgency and
    // similar past incidents (incident stage). All optional.
    /// <summary>Whether rank 1 is clearly ahead, or the hypotheses and what would separate them.</summary>
    public Verdict? Verdict { get; init; }

    /// <summary>Symptomatic services upstream of the root cause, whose symptoms the model attributes to it; absent when
    /// none.</summary>
    public IReadOnlyList<ImpactedService>? ImpactedServices { get; init; }
    public IncidentInfo? Incident { get; init; }
    public Urgency? Urgency { get; init; }

    /// <summary>The nearest earlier incidents by evidence; absent when there are none.</summary>
    public IReadOnlyList<SimilarIncident>? SimilarIncidents { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Plain UTF-8 (σ, +, quotes in log templates) rather than \uXXXX escapes: these events are read by
        // people and JSON consumers, never embedded in HTML unencoded.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}

/// <summary>A change tied to the incident: what changed, when, from and to which version.</summary>
/// <param name="Kind">rollout, config, scale or other.</param>
/// <param name="SecondsBeforeOnset">From the change's start to the incident's first alarmed window (negative: recorded
/// after it).</param>
/// <param name="Source">Where the change was reported: generic, kubernetes, argocd, flux, simulator.</param>
public sealed record RcaChange(
    string Service,
    string Kind,
    DateTimeOffset StartedAt,
    double SecondsBeforeOnset,
    string? FromVersion,
    string? ToVersion,
    string? Description,
    string Source
);

public sealed record RcaCandidate(int Rank, string Service, double Score);

public sealed record FaultGuess(string Kind, double Confidence);

/// <param name="PropagationPath">Root cause first, loudest symptom last, with the attention of each hop.</param>
/// <param name="Traces">What the window's anomalous requests say about the rank-1 candidate; null when the window had
/// none.</param>
public sealed record RcaEvidence(
    IReadOnlyList<FeatureEvidence> Features,
    IReadOnlyList<NeighbourEvidence> Neighbours,
    string? NewLogTemplate,
    IReadOnlyList<PathHop>? PropagationPath = null,
    TraceEvidence? Traces = null
);

/// <summary>
/// The window's anomalous requests (traces with a failed or unusually slow span, or a new or surging warn/error
/// log line written in them) as they bear on the candidate.
/// </summary>
/// <param name="AnomalousRequests">Anomalous traces in the window.</param>
/// <param name="ThroughCandidate">Of those, the ones passing through the candidate at or below their deepest
/// anomaly.</param>
/// <param name="Spectrum">Ochiai score of the candidate over anomalous and normal traces (0..1).</param>
/// <param name="DeepestShare">Share of anomalous traces whose deepest anomaly is in the candidate itself.</param>
/// <param name="OwnErrorLines">Error log lines the candidate wrote itself in the window.</param>
public sealed record TraceEvidence(
    int AnomalousRequests,
    int ThroughCandidate,
    double Spectrum,
    double DeepestShare,
    int OwnErrorLines
);

/// <summary>One service on the propagation path; <paramref name="Attention"/> is the weight of the hop into it (null
/// for the root).</summary>
public sealed record PathHop(string Service, double? Attention);

/// <summary>One measurement of the root-cause candidate that stands out.</summary>
/// <param name="Deviation">Robust z-score against the service's baseline (null for plain ratios and counts).</param>
/// <param name="Attribution">Integrated-gradients contribution of this feature to the service's root-cause
/// score.</param>
public sealed record FeatureEvidence(
    string Service,
    string Feature,
    string Measurement,
    string Unit,
    double? Value,
    double? Baseline,
    double? Deviation,
    double? Attribution = null
);

/// <summary>A caller or callee of the candidate, how the model weighed it, and its loudest symptom.</summary>
/// <param name="Attribution">How much this neighbour's own features contributed to the candidate's score (integrated
/// gradients).</param>
public sealed record NeighbourEvidence(
    string Service,
    string Relation,
    double Attention,
    string Symptom,
    double Deviation,
    double? Attribution = null
);
