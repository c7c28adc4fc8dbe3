using System.Collections.Concurrent;
using System.Diagnostics;

namespace LogWhisperer.Observability;

/// <summary>Records in and out of one stage and the time it spent working (not waiting on channels).</summary>
public sealed class StageMetrics(string name)
{
    private static readonly ConcurrentDictionary<string, ActivitySource> Sources = new();
    private long _in,
        _out,
        _busyTicks;

    public string Name { get; } = name;

    /// <summary>
    /// The stage's own traces: <c>LogWhisperer.Stage.&lt;name&gt;</c>, one activity per item the stage handles
    /// (a batch of records, a window, a snapshot batch, an event). Free when nothing listens.
    /// </summary>
    public ActivitySource Tracing { get; } = Sources.GetOrAdd(name, n => new ActivitySource(ActivitySourcePrefix + n));

    public const string ActivitySourcePrefix = "LogWhisperer.Stage.";
    public long RecordsIn => Interlocked.Read(ref _in);
    public long RecordsOut => Interlocked.Read(ref _out);
    public TimeSpan Busy => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _busyTicks));

    public void AddIn(long n) => Interlocked.Add(ref _in, n);

    public void AddOut(long n) => Interlocked.Add(ref _out, n);

    public void AddBusy(long startTimestamp) =>
        Interlocked.Add(ref _busyTicks, Stopwatch.GetTimestamp() - startTimestamp);

    public override string ToString() =>
        $"{Name, -10} in {RecordsIn, 12:N0}  out {RecordsOut, 10:N0}  busy {Busy.TotalMilliseconds, 9:N0} ms";
}

/// <summary>Counters for records that did not flow through normally. None is ever dropped without a count.</summary>
public sealed class PipelineCounters
{
    private long _invalid,
        _lateAccepted,
        _lateDropped,
        _quietWindows,
        _warmupWindows;

    /// <summary>Records that failed validation (sent to the dead-letter sink).</summary>
    public long Invalid => Interlocked.Read(ref _invalid);

    /// <summary>Records behind the watermark that still made their window (within allowed lateness).</summary>
    public long LateAccepted => Interlocked.Read(ref _lateAccepted);

    /// <summary>Records whose windows had already been emitted (sent to the dead-letter sink).</summary>
    public long LateDropped => Interlocked.Read(ref _lateDropped);

    /// <summary>Windows scored as no incident (no RCA event emitted).</summary>
    public long QuietWindows => Interlocked.Read(ref _quietWindows);

    /// <summary>Windows seen while the per-service baselines were still being learned.</summary>
    public long WarmupWindows => Interlocked.Read(ref _warmupWindows);

    public void CountInvalid() => Interlocked.Increment(ref _invalid);

    public void CountLateAccepted() => Interlocked.Increment(ref _lateAccepted);

    public void CountLateDropped() => Interlocked.Increment(ref _lateDropped);

    public void CountQuietWindow() => Interlocked.Increment(ref _quietWindows);

    public void CountWarmupWindow() => Interlocked.Increment(ref _warmupWindows);
}
