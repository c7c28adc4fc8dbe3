using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode;

/// <summary>
/// Per-record limits (labels per record, label name and value length, line length) and cardinality limits
/// (distinct clusters, services and metric series per cluster per window). A record over a limit is rejected
/// with the limit's name as reason, except an overlong log line, which is truncated as Loki does.
/// </summary>
public sealed class IngestLimits
{
    private sealed class Seen
    {
        public readonly HashSet<string> Services = new(StringComparer.Ordinal);
        public readonly HashSet<ulong> Series = [];
    }

    private readonly IngestOptions _options;
    private readonly IngestCounters _counters;
    private readonly WindowedState<Seen> _windows;

    public IngestLimits(IngestOptions? options = null, IngestCounters? counters = null)
    {
        _options = options ?? new IngestOptions();
        _counters = counters ?? new IngestCounters();
        _windows = new WindowedState<Seen>(_options.WindowMs, () => new Seen());
    }

    public IngestCounters Counters => _counters;

    /// <summary>Null when the record may pass (as <paramref name="admitted"/>, possibly truncated), otherwise the
    /// reason it may not.</summary>
    public string? Admit(TelemetryRecord record, out TelemetryRecord admitted)
    {
        admitted = record;
        var reason = Labels(record) ?? Cardinality(record);
        if (reason is not null)
        {
            _counters.Count(IngestCounters.LimitPrefix + reason[..reason.IndexOf(':')]);
            return reason;
        }
        if (record is LogRecord log && log.Message.Length > _options.MaxLineLength)
        {
            admitted = log with { Message = log.Message[.._options.MaxLineLength] };
            _counters.Count(IngestCounters.Truncated);
        }
        return null;
    }

    public string? Check(TelemetryRecord record) => Admit(record, out _);

    private string? Labels(TelemetryRecord record)
    {
        if (record.Service.Length > _options.MaxLabelValueLength)
            return "label value length: "
                + $"service name of {record.Service.Length} characters exceeds {_options.MaxLabelValueLength}";
        if (record.Cluster.Length > _options.MaxLabelValueLength)
            return "label value length: "
                + $"cluster name of {record.Cluster.Length} characters exceeds {_options.MaxLabelValueLength}";
        if (record is not MetricSample { Labels: { } labels } metric)
            return null;
        if (labels.Count > _options.MaxLabelsPerRecord)
            return "labels per record: "
                + $"{labels.Count} labels on {Clip(metric.Name)} exceed {_options.MaxLabelsPerRecord}";
        if (metric.Name.Length > _options.MaxLabelValueLength)
            return "label value length: "
                + $"metric name of {metric.Name.Length} characters exceeds {_options.MaxLabelValueLength}";
        foreach (var (name, value) in labels)
        {
            if (name.Length > _options.MaxLabelNameLength)
                return $"label name length: {name.Length} characters exceed {_options.MaxLabelNameLength}";
            if (value.Length > _options.MaxLabelValueLength)
                return $"label value length: {Clip(name)} has {value.Length} characters, "
                    + $"more than {_options.MaxLabelValueLength}";
        }
        return null;
    }

    private string? Cardinality(TelemetryRecord record)
    {
        if (!_windows.Knows(record.Cluster) && _windows.Clusters >= _options.MaxClusters)
            return $"clusters: more than {_options.MaxClusters} distinct clusters; {Clip(record.Cluster)} refused";
        var seen = _windows.Get(record.Cluster, record.TimestampMs);
        if (!seen.Services.Contains(record.Service))
        {
            if (seen.Services.Count >= _options.MaxServicesPerClusterWindow)
                return "services per window: "
                    + $"cluster {Clip(record.Cluster)} already has "
                    + $"{_options.MaxServicesPerClusterWindow} services in this window; "
                    + $"{Clip(record.Service)} refused";
            seen.Services.Add(record.Service);
        }
        if (
            record is MetricSample m
            && seen.Series.Count >= _options.MaxSeriesPerClusterWindow
            && !seen.Series.Contains(RecordHash.Series(m))
        )
            return "series per window: "
                + $"cluster {Clip(record.Cluster)} already has "
                + $"{_options.MaxSeriesPerClusterWindow} metric series in this window";
        if (record is MetricSample sample)
            seen.Series.Add(RecordHash.Series(sample));
        return null;
    }

    private static string Clip(string s) => s.Length <= 64 ? s : s[..64] + "…";
}
