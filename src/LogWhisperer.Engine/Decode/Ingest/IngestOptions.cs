namespace LogWhisperer.Decode;

/// <summary>
/// Limits that keep a hostile or buggy sender from exhausting memory, and the load-shedding policy for
/// bursts. Defaults follow the tools users know: Loki's max_label_name_length (1024), max_label_value_length
/// (2048) and max_line_size (256 KiB, truncated as Loki's max_line_size_truncate does).
/// </summary>
public sealed record IngestOptions
{
    public int MaxLabelsPerRecord { get; init; } = 64;
    public int MaxLabelNameLength { get; init; } = 1024;
    public int MaxLabelValueLength { get; init; } = 2048;

    /// <summary>Longer log lines are cut to this many characters (and counted), not rejected.</summary>
    public int MaxLineLength { get; init; } = 256 * 1024;

    /// <summary>Distinct services per cluster per window; records of further new services are rejected.</summary>
    public int MaxServicesPerClusterWindow { get; init; } = 2_000;

    /// <summary>Distinct metric series (name and labels) per cluster per window.</summary>
    public int MaxSeriesPerClusterWindow { get; init; } = 200_000;

    /// <summary>Distinct clusters over the engine's lifetime.</summary>
    public int MaxClusters { get; init; } = 256;

    /// <summary>The window the per-window limits, duplicate detection and shedding count in (the engine's window
    /// size).</summary>
    public long WindowMs { get; init; } = 30_000;

    /// <summary>Record hashes remembered per cluster per window to drop duplicates (a Kafka message delivered twice, a
    /// span sent twice).</summary>
    public int MaxDedupEntriesPerClusterWindow { get; init; } = 1_000_000;

    /// <summary>
    /// Records per cluster per window above which load is shed: debug and info logs first, then spans sampled
    /// by trace id (whole traces kept or dropped); at <see cref="HardShedFactor"/> times this, every span and
    /// every log below error. Metrics and error logs are never shed.
    /// </summary>
    public long ShedAboveRecordsPerWindow { get; init; } = 2_000_000;
    public int HardShedFactor { get; init; } = 4;

    /// <summary>While shedding, one trace in this many is kept.</summary>
    public int SpanSampleEvery { get; init; } = 10;
}
