using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode;

/// <summary>
/// The shedding policy for bursts. The windower's memory grows with what a window holds (span ids to pair
/// parents and children, log templates), so the budget is records per cluster per window. Above
/// <see cref="IngestOptions.ShedAboveRecordsPerWindow"/>: debug and info logs are shed (they are the most
/// repetitive and the least telling), and spans are sampled by trace id so whole traces survive. Above the
/// hard limit: every span and every log below error. Metrics and error logs are never shed: they are small,
/// bounded by the series limit, and what the model relies on most.
/// </summary>
internal sealed class LoadShedder(IngestOptions options, IngestCounters counters)
{
    private sealed class Load
    {
        public long Records;
    }

    private readonly WindowedState<Load> _load = new(options.WindowMs, () => new Load());

    /// <summary>True when the record is to be shed (it is counted by kind).</summary>
    public bool Shed(TelemetryRecord record)
    {
        var load = _load.Get(record.Cluster, record.TimestampMs);
        long soft = options.ShedAboveRecordsPerWindow,
            hard = soft * options.HardShedFactor;
        string? shed = record switch
        {
            _ when load.Records < soft => null,
            MetricSample => null,
            LogRecord { Severity: >= LogSeverity.Error } => null,
            _ when load.Records >= hard => IngestCounters.ShedHard,
            LogRecord { Severity: <= LogSeverity.Info } => IngestCounters.ShedLog,
            SpanRecord s when RecordHash.Of(s.TraceId) % (ulong)options.SpanSampleEvery != 0 => IngestCounters.ShedSpan,
            _ => null,
        };
        if (shed is not null)
        {
            counters.Count(shed);
            return true;
        }
        load.Records++;
        return false;
    }
}
