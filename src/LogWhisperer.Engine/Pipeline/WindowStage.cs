using LogWhisperer.Observability;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;

namespace LogWhisperer.Pipeline;

/// <summary>
/// The window stage: batches of validated records in, the windows they close out (by event time and watermark),
/// and every window still open once the input ends (a drain). Each record leaving here gives its place in the
/// record budget back, and each closed window starts its close → done latency.
/// </summary>
internal sealed class WindowStage(
    StageMetrics metrics,
    EventTimeWindower windower,
    RecordBudget budget,
    WindowLatency latency
) : Stage<IReadOnlyList<TelemetryRecord>, WindowAggregate>(metrics)
{
    protected override void Process(IReadOnlyList<TelemetryRecord> batch, List<WindowAggregate> closed)
    {
        windower.Add(batch, closed);
        budget.Release(batch.Count);
        StartLatency(closed);
    }

    protected override void Complete(List<WindowAggregate> closed)
    {
        windower.Flush(closed);
        StartLatency(closed);
    }

    protected override long CountIn(IReadOnlyList<TelemetryRecord> batch) => batch.Count;

    private void StartLatency(List<WindowAggregate> closed)
    {
        foreach (var w in closed)
            latency.Closed(w.Cluster, w.EndMs);
    }
}
