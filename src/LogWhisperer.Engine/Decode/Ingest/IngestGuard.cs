using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode;

/// <summary>
/// What every decoded record passes before the windows: the validator, the ingest limits, duplicate removal
/// and load shedding, in that order. Rejected records are dead-lettered with their reason; duplicates and
/// shed records are counted (in <see cref="Counters"/>), never silently lost. Not thread-safe (one decode task).
/// </summary>
internal sealed class IngestGuard
{
    private readonly IngestLimits _limits;
    private readonly Deduplicator _dedup;
    private readonly LoadShedder _shedder;

    public IngestGuard(IngestOptions options)
    {
        _limits = new IngestLimits(options, Counters);
        _dedup = new Deduplicator(options, Counters);
        _shedder = new LoadShedder(options, Counters);
    }

    public IngestCounters Counters { get; } = new();

    /// <summary>The record to keep (possibly truncated), or null when it is rejected (dead-lettered), a duplicate or
    /// shed.</summary>
    public TelemetryRecord? Admit(TelemetryRecord record, IDeadLetterSink deadLetters, PipelineCounters pipeline)
    {
        if (RecordValidator.Validate(record) is { } invalid)
            return Reject(DeadLetterCode.InvalidRecord, invalid);
        if (_limits.Admit(record, out var admitted) is { } refused)
            return Reject(DeadLetterCode.OverLimit, refused);
        return _dedup.IsDuplicate(admitted) || _shedder.Shed(admitted) ? null : admitted;

        TelemetryRecord? Reject(DeadLetterCode code, string reason)
        {
            pipeline.CountInvalid();
            deadLetters.Write(DeadLetter.For("decode", code, reason, record));
            return null;
        }
    }
}
