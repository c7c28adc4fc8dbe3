using System.ComponentModel;
using LogWhisperer.Decode.Formats;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Configuration;

// The settings of `engine`, `pull` and `gateway`, bound from appsettings.json / --config, LOGWHISPERER_* environment
// variables and command-line overrides (SettingsLoader). Property initializers are the defaults; the
// [Description]s are the documentation: `logwhisperer config reference` prints both, so docs cannot drift.
// Collections start empty because the binder merges into them (a default list would be appended to).

/// <summary>Marks a setting whose value must never be printed or logged.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class SecretAttribute : Attribute;

internal sealed class LogWhispererSettings
{
    public KafkaSection Kafka { get; set; } = new();
    public PullSection Pull { get; set; } = new();
    public EngineSection Engine { get; set; } = new();
    public WindowsSection Windows { get; set; } = new();
    public SinksSection Sinks { get; set; } = new();
    public GatewaySection Gateway { get; set; } = new();
    public DashboardSection Dashboard { get; set; } = new();
    public IncidentsSection Incidents { get; set; } = new();
    public SloSection Slo { get; set; } = new();
    public LoggingSection Logging { get; set; } = new();
    public HostSection Host { get; set; } = new();
}

internal sealed class HostSection
{
    [Description("On SIGTERM or Ctrl-C, drain (finish open work, commit offsets, stop the web servers) for at most this long, then abort (exit 130).")]
    public double ShutdownTimeoutSeconds { get; set; } = 30;
}

internal sealed class KafkaSection
{
    [Description("Kafka bootstrap servers (host:port,…). Required by engine and gateway.")]
    public string? BootstrapServers { get; set; }

    [Description("Consumer group id of the engine.")]
    public string GroupId { get; set; } = "logwhisperer";

    [Description("Input topics, topic name → format (OtlpTracesProto, OtlpLogsProto, LokiProto, RemoteWrite, …). Empty: the default topics, those the OpenTelemetry Collector, the gateway and kafka-produce write (`config show` lists them).")]
    public Dictionary<string, TelemetryFormat> InputTopics { get; set; } = [];

    [Description("Topic for RCA events (CloudEvents JSON, keyed by cluster).")]
    public string OutputTopic { get; set; } = "logwhisperer_rca";

    [Description("Topic for undecodable input, raw, with the reason in headers.")]
    public string DeadLetterTopic { get; set; } = "logwhisperer_dead_letters";

    [Description("Also publish every graph snapshot (Arrow IPC) to this topic.")]
    public string? SnapshotsTopic { get; set; }

    [Description("librdkafka properties for every client, property → value (security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, …). Values of keys naming a password, secret or key are never logged.")]
    public Dictionary<string, string> Client { get; set; } = [];

    [Description("Two-stage topology (Engine:Stage Window/Score): the topic of per-(service, window) parts, keyed by cluster.")]
    public string ServiceWindowsTopic { get; set; } = "logwhisperer_service_windows";

    [Description("Keep this much event time uncommitted, to rebuild baselines exactly after a restart.")]
    public double CommitLagMinutes { get; set; }

    [Description("Stop after this many seconds with all input read (batch runs); unset = run until stopped.")]
    public double? IdleExitSeconds { get; set; }

    [Description("At start, retry an unreachable broker with backoff for this long, then exit with code 3 and one line.")]
    public double ConnectTimeoutSeconds { get; set; } = 60;
}

internal sealed class PullSection
{
    [Description("Loki base URL (http://loki:3100): logs are pulled from its HTTP API. Unset: no logs.")]
    public string? LokiUrl { get; set; }

    [Description("LogQL stream selector of the logs to pull (e.g. {namespace=\"shop\"}).")]
    public string LogQl { get; set; } = "{job=~\".+\"}";

    [Description("Follow Loki's tail WebSocket (lower latency) instead of polling query_range.")]
    public bool LokiTail { get; set; }

    [Description("Entries per query_range request (Loki's limit; larger steps are paged).")]
    public int LokiLimit { get; set; } = 5000;

    [Description("Prometheus base URL (http://prometheus:9090): metrics are pulled with query_range and the call graph is discovered from istio_requests_total. Unset: no metrics, no discovered topology.")]
    public string? PrometheusUrl { get; set; }

    [Description("PromQL per metric name, name → query. Empty: the series the engine reads (container_cpu_usage_seconds_total, container_memory_working_set_bytes, kube_pod_container_status_restarts_total, istio_requests_total, istio_request_duration_milliseconds_bucket), raw.")]
    public Dictionary<string, string> Queries { get; set; } = [];

    [Description("Resolution (query_range step) of pulled metrics.")]
    public double ResolutionSeconds { get; set; } = 15;

    [Description("Start of the pull, ISO 8601 (catch up from there). Unset: LookbackMinutes before now.")]
    public string? From { get; set; }

    [Description("Without From, start this long before now.")]
    public double LookbackMinutes { get; set; } = 10;

    [Description("Stop at this time, ISO 8601 (a batch run over the past). Unset: follow the present.")]
    public string? Until { get; set; }

    [Description("Event time fetched per request.")]
    public double StepSeconds { get; set; } = 30;

    [Description("How far behind the present following stays, so late ingestion is not missed.")]
    public double DelaySeconds { get; set; } = 30;

    [Description("Refresh the call graph from Prometheus this often; 0 = no topology discovery.")]
    public double TopologyRefreshSeconds { get; set; } = 60;

    [Description("An edge not seen for this many refreshes ages out of the graph.")]
    public int TopologyMaxAgeRefreshes { get; set; } = 3;
}

internal enum DeviceChoice { Auto, Cpu, Cuda }

internal sealed class EngineSection
{
    [Description("Cluster for records that carry no cluster label.")]
    public string Cluster { get; set; } = "default";

    [Description("Labels naming a record's service, in order of preference. Empty: service_name, service.name, app, ….")]
    public List<string> ServiceLabels { get; set; } = [];

    [Description("Model file. Unset: the model shipped with LogWhisperer (models/gat-default.lwm).")]
    public string? Model { get; set; }

    [Description("Where the model runs: Auto (CUDA when available), Cpu or Cuda.")]
    public DeviceChoice Device { get; set; } = DeviceChoice.Auto;

    [Description("Incident probability from which a window gets an RCA event.")]
    public double IncidentThreshold { get; set; } = 0.5;

    [Description("Also print RCA events as JSON lines on stdout.")]
    public bool Print { get; set; }

    [Description("Single: the whole engine. Two-stage topology for a mesh too large for one instance: Window (telemetry keyed by service → per-(service, window) parts on Kafka:ServiceWindowsTopic) or Score (those parts → whole windows → RCA events).")]
    public LogWhisperer.Hosting.EngineStage Stage { get; set; } = LogWhisperer.Hosting.EngineStage.Single;

    [Description("Score stage: close a window missing some services' parts once parts of a window this many seconds of event time later arrived.")]
    public double ServiceWindowGraceSeconds { get; set; } = 120;

    [Description("Score stage: close a window missing some services' parts this many seconds (wall clock) after its first part arrived.")]
    public double ServiceWindowTimeoutSeconds { get; set; } = 30;
}

internal sealed class WindowsSection
{
    [Description("Length of an event-time window.")]
    public double SizeSeconds { get; set; } = 30;

    [Description("A window opens every this many seconds (equal to SizeSeconds: tumbling windows).")]
    public double HopSeconds { get; set; } = 30;

    [Description("How far event time may run out of order before the watermark passes a record.")]
    public double MaxOutOfOrdernessSeconds { get; set; } = 5;

    [Description("How long after the watermark passes a window's end late records are still accepted.")]
    public double AllowedLatenessSeconds { get; set; } = 5;
}

internal sealed class SinksSection
{
    public AlertmanagerSection Alertmanager { get; set; } = new();
    public WebhookSection Webhook { get; set; } = new();
    public SlackSection Slack { get; set; } = new();
    public OpsgenieSection Opsgenie { get; set; } = new();
    public DeliverySection Delivery { get; set; } = new();
}

internal sealed class AlertmanagerSection
{
    [Description("Alertmanager base URL (http://alertmanager:9093): incidents become LogWhispererRootCause alerts, resolved when the incident ends.")]
    public string? Url { get; set; }

    [Description("Link back to LogWhisperer in each alert's generatorURL (e.g. the dashboard); the event id is appended as ?event=.")]
    public string? GeneratorUrl { get; set; }
}

internal sealed class WebhookSection
{
    [Description("POST every RCA event (v1 JSON) to this URL.")]
    public string? Url { get; set; }

    [Description("Sent as Authorization: Bearer <token>.")]
    [Secret]
    public string? BearerToken { get; set; }

    [Description("Extra request headers, name → value. Never logged.")]
    [Secret]
    public Dictionary<string, string> Headers { get; set; } = [];
}

internal sealed class SlackSection
{
    [Description("Slack incoming-webhook URL: a message when an incident opens and when it resolves. The URL is a credential: never logged.")]
    [Secret]
    public string? WebhookUrl { get; set; }
}

internal sealed class OpsgenieSection
{
    [Description("Opsgenie API base URL (https://api.eu.opsgenie.com for the EU instance).")]
    public string Url { get; set; } = "https://api.opsgenie.com";

    [Description("Opsgenie API integration key; setting it enables the Opsgenie sink (alerts opened and closed per incident).")]
    [Secret]
    public string? ApiKey { get; set; }
}

internal sealed class DeliverySection
{
    [Description("Further attempts of a failed alert/webhook delivery (5xx, 408, 429, connection errors, timeouts).")]
    public int Retries { get; set; } = 3;

    [Description("Wait before the first retry; doubled before each next one.")]
    public int InitialBackoffMilliseconds { get; set; } = 500;

    [Description("Timeout of one delivery attempt.")]
    public double TimeoutSeconds { get; set; } = 10;
}

internal sealed class GatewaySection
{
    [Description("host:port the ingest gateway listens on; loopback unless told otherwise (0.0.0.0:3100 exposes it: set a bearer token then).")]
    public string Listen { get; set; } = "127.0.0.1:3100";

    [Description("TLS certificate, PEM (with TlsKeyPath); or configure Kestrel:Endpoints:Https the standard Kestrel way.")]
    public string? TlsCertificatePath { get; set; }

    [Description("TLS private key, PEM.")]
    public string? TlsKeyPath { get; set; }

    [Description("Requests per second per client (token bucket, burst twice that); 0 = unlimited. Above it: 429 with Retry-After.")]
    public int RateLimitPerSecond { get; set; } = 200;

    [Description("Require Authorization: Bearer <token> on every request (also read from LOGWHISPERER_GATEWAY_TOKEN).")]
    [Secret]
    public string? BearerToken { get; set; }

    [Description("Largest request body accepted (413 above).")]
    public long MaxRequestBytes { get; set; } = 16 << 20;

    [Description("How long a request waits for Kafka to acknowledge its body; past it (or while Kafka is known down) the answer is 503 with Retry-After.")]
    public double DeliveryTimeoutSeconds { get; set; } = 5;

    [Description("Request bodies read and decompressed at once (others wait their turn): peak memory is about this × 64 MiB under compression bombs. 0 = the number of CPUs, from 2 to 8.")]
    public int MaxConcurrentBodies { get; set; }
}

internal sealed class DashboardSection
{
    [Description("Serve the live dashboard, /api/graph, /api/events, /api/stream (SSE) and /metrics at PORT or HOST:PORT (loopback when only a port is given). Unset: no web server.")]
    public string? Http { get; set; }

    [Description("Require Authorization: Bearer <token> on /api/* and /metrics (a browser passes it as ?token=).")]
    [Secret]
    public string? BearerToken { get; set; }

    [Description("TLS certificate, PEM (with TlsKeyPath); or configure Kestrel:Endpoints:Https the standard Kestrel way.")]
    public string? TlsCertificatePath { get; set; }

    [Description("TLS private key, PEM.")]
    public string? TlsKeyPath { get; set; }
}

internal sealed class IncidentsSection
{
    [Description("An incident resolves after this many quiet windows in a row.")]
    public int ResolveAfterQuietWindows { get; set; } = 2;

    [Description("A resolved incident reopens (same id) when a verdict naming its root cause and fault kind comes within this many windows; 0 never reopens.")]
    public int ReopenWithinWindows { get; set; } = 4;

    [Description("Directory of the incident store (incidents.jsonl: past incidents for 'similar incidents', kept across restarts) and of verdict feedback (labelled incidents: labels.jsonl and Arrow snapshots that finetune reads). Unset: kept in memory only, no feedback store.")]
    public string? StoreDirectory { get; set; }

    [Description("Past incidents kept (the oldest go first).")]
    public int StoreCapacity { get; set; } = 1000;

    [Description("Similar past incidents listed per event.")]
    public int SimilarIncidents { get; set; } = 3;

    [Description("Kafka topic of verdict feedback (JSON: incidentId, verdict confirm|reject|rootCause, service) that the engine reads; the console's POST /api/incidents/{id}/feedback does the same.")]
    public string FeedbackTopic { get; set; } = "logwhisperer_feedback";
}

internal sealed class SloSection
{
    [Description("Availability objective per entry service in percent of requests that succeed, e.g. Slo:Availability:frontend=99.9.")]
    public Dictionary<string, double> Availability { get; set; } = [];

    [Description("Latency objective per entry service: LatencyTarget % of requests faster than this many ms, e.g. Slo:LatencyMs:frontend=300.")]
    public Dictionary<string, double> LatencyMs { get; set; } = [];

    [Description("Share of requests (percent) that must be faster than Slo:LatencyMs.")]
    public double LatencyTarget { get; set; } = 99;
}

internal sealed class LoggingSection
{
    [Description("Log level per category prefix (Default, LogWhisperer.Sinks, Microsoft, …); Default is Information when unset. Logs go to stderr, one line each.")]
    public Dictionary<string, LogLevel> LogLevel { get; set; } = [];
}
