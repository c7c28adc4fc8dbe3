using LogWhisperer.Explain;
using LogWhisperer.Simulation;

namespace LogWhisperer.Evaluation;

/// <summary>The engine's answer for one injected incident: the first RCA event emitted during it.</summary>
public sealed record IncidentResult(Fault Fault, RcaEvent? FirstEvent, int? Rank)
{
    public bool Detected => FirstEvent is not null;
}

/// <summary>
/// Standard RCA accuracy: AC@k is the share of incidents whose true root service is among the top k
/// candidates of the engine's first event during the incident (no event counts as a miss); Avg@5 is the
/// mean of AC@1..AC@5. Events outside every incident are false alarms.
/// </summary>
public sealed record EvaluationReport(IReadOnlyList<IncidentResult> Incidents, int FalseAlarms, int QuietWindows)
{
    public double AccuracyAt(int k) =>
        Incidents.Count == 0 ? 0 : (double)Incidents.Count(r => r.Rank is { } rank && rank <= k) / Incidents.Count;

    public double Avg5 => Enumerable.Range(1, 5).Average(AccuracyAt);
    public double DetectionRate =>
        Incidents.Count == 0 ? 0 : (double)Incidents.Count(r => r.Detected) / Incidents.Count;
    public double FaultKindAccuracy =>
        Incidents.Count(r => r.Detected) is var d and > 0
            ? (double)Incidents.Count(r => r.FirstEvent?.FaultType.Kind == r.Fault.Kind.ToString()) / d
            : 0;

    /// <param name="graceMs">How long after a fault ends its effects may still be reported.</param>
    public static EvaluationReport Score(
        IReadOnlyList<Fault> faults,
        IReadOnlyList<RcaEvent> events,
        int quietWindows,
        long graceMs = 60_000
    )
    {
        var ordered = events.OrderBy(e => e.WindowStart).ToArray();
        var results = faults
            .Select(f =>
            {
                var first = ordered.FirstOrDefault(e =>
                    e.WindowEnd.ToUnixTimeMilliseconds() > f.StartMs && e.WindowStart.ToUnixTimeMilliseconds() < f.EndMs
                );
                int? rank = first?.Candidates.FirstOrDefault(c => c.Service == f.Service)?.Rank;
                return new IncidentResult(f, first, rank);
            })
            .ToArray();
        int falseAlarms = ordered.Count(e =>
            !faults.Any(f =>
                e.WindowEnd.ToUnixTimeMilliseconds() > f.StartMs
                && e.WindowStart.ToUnixTimeMilliseconds() < f.EndMs + graceMs
            )
        );
        return new EvaluationReport(results, falseAlarms, quietWindows);
    }
}
