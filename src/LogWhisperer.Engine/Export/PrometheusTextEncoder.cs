using System.Globalization;
using System.Text;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Export;

/// <summary>
/// Metric samples as one Prometheus text exposition document (format 0.0.4): samples grouped by metric
/// family, each family once with its HELP and TYPE, every line <c>name{labels} value timestamp_ms</c>.
/// Every sample carries the scraped pod's target labels (cluster, namespace, pod, container) before its own.
/// Our own rather than a client library's because it writes a simulated mesh's series with their own
/// timestamps (what a scrape of those pods would return); client libraries expose only their own process.
/// </summary>
internal static class PrometheusTextEncoder
{
    public enum MetricType
    {
        Counter,
        Gauge,
        Histogram,
        Untyped,
    }

    private static readonly Dictionary<string, (MetricType Type, string Help)> Known = new()
    {
        ["container_cpu_usage_seconds_total"] = (MetricType.Counter, "Cumulative cpu time consumed in seconds."),
        ["container_memory_working_set_bytes"] = (MetricType.Gauge, "Current working set in bytes."),
        ["kube_pod_container_status_restarts_total"] = (
            MetricType.Counter,
            "The number of container restarts per container."
        ),
        ["istio_requests_total"] = (MetricType.Counter, "Total number of requests handled by the proxy."),
        ["istio_request_duration_milliseconds"] = (MetricType.Histogram, "Request duration in milliseconds."),
    };

    /// <summary>The family a sample belongs to: a histogram's _bucket, _sum and _count samples share one.</summary>
    public static (string Family, MetricType Type, string? Help) FamilyOf(string name)
    {
        if (Known.TryGetValue(name, out var k))
            return (name, k.Type, k.Help);
        foreach (var suffix in (ReadOnlySpan<string>)["_bucket", "_sum", "_count"])
            if (
                name.EndsWith(suffix, StringComparison.Ordinal)
                && Known.TryGetValue(name[..^suffix.Length], out var h)
                && h.Type == MetricType.Histogram
            )
                return (name[..^suffix.Length], h.Type, h.Help);
        return (name, MetricType.Untyped, null);
    }

    public static string? Encode(IReadOnlyList<TelemetryRecord> batch, string namespaceName)
    {
        var sb = new StringBuilder();
        return Encode(batch, namespaceName, sb) ? sb.ToString() : null;
    }

    /// <summary>Appends the document to <paramref name="sb"/>; false (nothing written) when the batch has no
    /// samples.</summary>
    public static bool Encode(IReadOnlyList<TelemetryRecord> batch, string namespaceName, StringBuilder sb)
    {
        var families = new OrderedDictionary<string, List<MetricSample>>(StringComparer.Ordinal);
        foreach (var r in batch)
        {
            if (r is not MetricSample m)
                continue;
            var family = FamilyOf(m.Name).Family;
            if (!families.TryGetValue(family, out var list))
                families[family] = list = [];
            list.Add(m);
        }
        if (families.Count == 0)
            return false;

        foreach (var (family, samples) in families)
        {
            var (_, type, help) = FamilyOf(samples[0].Name);
            if (help is not null)
                sb.Append("# HELP ").Append(family).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(family).Append(' ').Append(type.ToString().ToLowerInvariant()).Append('\n');
            foreach (var m in samples)
            {
                sb.Append(SanitizeName(m.Name)).Append('{');
                Label(sb, "cluster", m.Cluster, first: true);
                Label(sb, "namespace", namespaceName);
                Label(sb, "pod", Workload.PodName(m.Service));
                Label(sb, "container", m.Service);
                if (m.Labels is not null)
                    foreach (var (key, value) in m.Labels)
                        if (key is not ("cluster" or "namespace" or "pod" or "container"))
                            Label(sb, SanitizeName(key), value);
                sb.Append("} ");
                AppendValue(sb, m.Value);
                sb.Append(' ').Append(m.TimestampMs).Append('\n');
            }
        }
        return true;
    }

    private static void AppendValue(StringBuilder sb, double v)
    {
        Span<char> chars = stackalloc char[32];
        if (double.IsFinite(v) && v.TryFormat(chars, out int written, "R", CultureInfo.InvariantCulture))
            sb.Append(chars[..written]);
        else
            sb.Append(FormatValue(v));
    }

    public static string FormatValue(double v) =>
        double.IsNaN(v) ? "NaN"
        : double.IsPositiveInfinity(v) ? "+Inf"
        : double.IsNegativeInfinity(v) ? "-Inf"
        : v.ToString("R", CultureInfo.InvariantCulture);

    private static void Label(StringBuilder sb, string name, string value, bool first = false)
    {
        if (!first)
            sb.Append(',');
        sb.Append(name).Append("=\"");
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>Metric and label names may only hold [a-zA-Z0-9_:] (and not start with a digit).</summary>
    private static string SanitizeName(string name)
    {
        bool ok = name.Length > 0 && !char.IsAsciiDigit(name[0]);
        foreach (char c in name)
            ok &= char.IsAsciiLetterOrDigit(c) || c is '_' or ':';
        if (ok)
            return name;
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_').ToArray();
        return chars.Length == 0 || char.IsAsciiDigit(chars[0]) ? "_" + new string(chars) : new string(chars);
    }
}
