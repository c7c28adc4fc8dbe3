using System.ComponentModel;

namespace LogWhisperer.Cli.Configuration;

/// <summary>`pull`: logs from Loki, metrics and the call graph from Prometheus.</summary>
internal sealed class PullSection
{
    [Description("Loki base URL (http://loki:3100): logs are pulled from its HTTP API. Unset: no logs.")]
    [CliOption("--loki", CliCommands.Pull)]
    public string? LokiUrl { get; set; }

    [Description("LogQL stream selector of the logs to pull (e.g. {namespace=\"shop\"}).")]
    [CliOption("--logql", CliCommands.Pull)]
    public string LogQl { get; set; } = "{job=~\".+\"}";

    [Description("Follow Loki's tail WebSocket (lower latency) instead of polling query_range.")]
    [CliOption("--loki-tail", CliCommands.Pull)]
    public bool LokiTail { get; set; }

    [Description("Entries per query_range request (Loki's limit; larger steps are paged).")]
    public int LokiLimit { get; set; } = 5000;

    [Description(
        "Prometheus base URL (http://prometheus:9090): metrics are pulled with query_range and the call "
            + "graph is discovered from istio_requests_total. Unset: no metrics, no discovered topology."
    )]
    [CliOption("--prometheus", CliCommands.Pull)]
    public string? PrometheusUrl { get; set; }

    [Description(
        "PromQL per metric name, name → query. Empty: the series the engine reads "
            + "(container_cpu_usage_seconds_total, container_memory_working_set_bytes, "
            + "kube_pod_container_status_restarts_total, istio_requests_total, "
            + "istio_request_duration_milliseconds_bucket), raw."
    )]
    [CliOption("--query", CliCommands.Pull)]
    public Dictionary<string, string> Queries { get; set; } = [];

    [Description("Resolution (query_range step) of pulled metrics.")]
    public double ResolutionSeconds { get; set; } = 15;

    [Description("Start of the pull, ISO 8601 (catch up from there). Unset: LookbackMinutes before now.")]
    [CliOption("--from", CliCommands.Pull)]
    public string? From { get; set; }

    [Description("Without From, start this long before now.")]
    [CliOption("--lookback", CliCommands.Pull)]
    public double LookbackMinutes { get; set; } = 10;

    [Description("Stop at this time, ISO 8601 (a batch run over the past). Unset: follow the present.")]
    [CliOption("--until", CliCommands.Pull)]
    public string? Until { get; set; }

    [Description("Event time fetched per request.")]
    [CliOption("--step", CliCommands.Pull)]
    public double StepSeconds { get; set; } = 30;

    [Description("How far behind the present following stays, so late ingestion is not missed.")]
    public double DelaySeconds { get; set; } = 30;

    [Description("Refresh the call graph from Prometheus this often; 0 = no topology discovery.")]
    [CliOption("--topology-refresh", CliCommands.Pull)]
    public double TopologyRefreshSeconds { get; set; } = 60;

    [Description("An edge not seen for this many refreshes ages out of the graph.")]
    public int TopologyMaxAgeRefreshes { get; set; } = 3;
}
