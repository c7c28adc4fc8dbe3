namespace LogWhisperer.Decode.Formats;

/// <summary>
/// Where decoders find a record's service and cluster. Every tool labels differently (Loki stream labels,
/// Kubernetes metadata from Fluent Bit or Vector, Prometheus target labels, OTel resource attributes), so
/// both are the first label present from a configurable list.
/// </summary>
public sealed record DecodeOptions
{
    /// <summary>Cluster for records that carry no cluster label.</summary>
    public string DefaultCluster { get; init; } = "default";

    /// <summary>Where a <see cref="TelemetryFormat.Changes"/> topic's changes go (the change-correlation stage reads
    /// them).</summary>
    public Changes.ChangeLog? Changes { get; init; }

    public IReadOnlyList<string> ClusterLabels { get; init; } =
    ["cluster", "k8s.cluster.name", "k8s_cluster_name", "cluster_name"];

    public IReadOnlyList<string> ServiceLabels { get; init; } =
    [
        "service_name",
        "service.name",
        "service",
        "app",
        "app.kubernetes.io/name",
        "app_kubernetes_io_name",
        "k8s_container_name",
        "container_name",
        "container",
        "k8s.container.name",
        "k8s.deployment.name",
        "programname",
        "job",
    ];

    public string ClusterOf(IReadOnlyDictionary<string, string> labels) =>
        First(labels, ClusterLabels) ?? DefaultCluster;

    public string ServiceOf(IReadOnlyDictionary<string, string> labels) => First(labels, ServiceLabels) ?? "";

    /// <summary>
    /// A metric's service. Istio's standard metrics describe a call: reporter="destination" series belong to
    /// the callee (destination_workload), reporter="source" series to the caller (source_workload).
    /// </summary>
    public string ServiceOfMetric(IReadOnlyDictionary<string, string> labels)
    {
        if (labels.TryGetValue("reporter", out var reporter))
        {
            var key = reporter == "source" ? "source_workload" : "destination_workload";
            if (labels.TryGetValue(key, out var workload) && workload.Length > 0 && workload != "unknown")
                return workload;
        }
        return ServiceOf(labels);
    }

    private static string? First(IReadOnlyDictionary<string, string> labels, IReadOnlyList<string> keys)
    {
        foreach (var key in keys)
            if (labels.TryGetValue(key, out var value) && !string.IsNullOrEmpty(value))
                return value;
        return null;
    }
}
