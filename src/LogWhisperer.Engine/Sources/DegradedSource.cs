using System.Runtime.CompilerServices;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources;

/// <summary>How a <see cref="DegradedSource"/> spoils its input, one knob per failure seen in production.</summary>
public sealed record Degradation
{
    public static readonly Degradation None = new();

    /// <summary>No logs at all (Loki or the log shipper down).</summary>
    public bool DropLogs { get; init; }

    /// <summary>Share of traces kept, by trace id so traces stay whole (head sampling at 1 % = 0.01).</summary>
    public double TraceKeepShare { get; init; } = 1;

    /// <summary>Log timestamps this far behind the other modalities (a skewed clock on the log shipper's
    /// nodes).</summary>
    public long LogSkewMs { get; init; }

    /// <summary>Share of batches delivered a second time, a few batches later (at-least-once redelivery).</summary>
    public double RedeliverShare { get; init; }
    public int Seed { get; init; } = 1;

    public override string ToString() =>
        this == None
            ? "none"
            : string.Join(
                ", ",
                new[]
                {
                    DropLogs ? "no logs" : null,
                    TraceKeepShare < 1 ? $"traces kept {TraceKeepShare:P0}" : null,
                    LogSkewMs != 0 ? $"logs {LogSkewMs / 1000} s behind" : null,
                    RedeliverShare > 0 ? $"{RedeliverShare:P0} of batches redelivered" : null,
                }.Where(s => s is not null)
            );
}

/// <summary>
/// Wraps a source and degrades it as production does (a modality missing, traces sampled away, a skewed clock,
/// redelivered messages): the degraded-input tests and the accuracy-under-degradation benchmark.
/// </summary>
internal sealed class DegradedSource(ITelemetrySource inner, Degradation degradation) : ITelemetrySource
{
    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        var rng = new Random(degradation.Seed);
        var pending = new Queue<(int Due, IReadOnlyList<TelemetryRecord> Batch)>();
        int index = 0;
        await foreach (var batch in inner.ReadAsync(cancellationToken))
        {
            var spoiled = new List<TelemetryRecord>(batch.Count);
            foreach (var record in batch)
                if (Spoil(record) is { } r)
                    spoiled.Add(r);
            yield return spoiled;
            if (rng.NextDouble() < degradation.RedeliverShare)
                pending.Enqueue((index + 3, spoiled));
            while (pending.Count > 0 && pending.Peek().Due <= index)
                yield return pending.Dequeue().Batch;
            index++;
        }
        while (pending.Count > 0)
            yield return pending.Dequeue().Batch;
    }

    private TelemetryRecord? Spoil(TelemetryRecord record) =>
        record switch
        {
            LogRecord when degradation.DropLogs => null,
            LogRecord log when degradation.LogSkewMs != 0 => log with
            {
                TimestampMs = log.TimestampMs - degradation.LogSkewMs,
            },
            SpanRecord span when degradation.TraceKeepShare < 1 && !KeepTrace(span.TraceId) => null,
            _ => record,
        };

    private bool KeepTrace(string traceId) => (uint)StableHash(traceId) % 10_000 < degradation.TraceKeepShare * 10_000;

    private static int StableHash(string s)
    {
        unchecked
        {
            int h = 17;
            foreach (char c in s)
                h = h * 31 + c;
            return h & int.MaxValue;
        }
    }
}
