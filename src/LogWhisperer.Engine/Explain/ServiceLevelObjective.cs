using System.Globalization;
using LogWhisperer.Features;
using LogWhisperer.Graph;

namespace LogWhisperer.Explain;

/// <summary>
/// An SLO of an entry service: an availability objective (share of requests that succeed, e.g. 99.9 %) and/or
/// a latency objective (<see cref="LatencyTarget"/> % of requests faster than <see cref="LatencyMs"/>).
/// </summary>
public sealed record ServiceLevelObjective(
    string Service,
    double? Availability = null,
    double? LatencyMs = null,
    double LatencyTarget = 99
)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// This window's burn rate of each objective: the bad share of requests over the share the objective allows
    /// (1 = the error budget is spent exactly as fast as it accrues). The bad share of the latency objective is a
    /// lower bound read off the window's p50/p95/p99 (e.g. p95 over the threshold → at least 5 % were slow): the
    /// engine keeps quantiles, not every request.
    /// </summary>
    public IEnumerable<(string Name, double BurnRate)> Burn(GraphSnapshot s)
    {
        int node = s.IndexOf(Service);
        if (node < 0)
            yield break;
        if (
            Availability is { } a
            && s.Measurement(node, Measurement.ErrorRatio) is var errors
            && double.IsFinite(errors)
        )
            yield return (
                string.Create(Inv, $"{Service} availability {a:0.###} %"),
                errors / Math.Max(1e-9, 1 - a / 100)
            );
        if (LatencyMs is { } limit)
        {
            double slow =
                s.Measurement(node, Measurement.LatencyP50) > limit ? 0.5
                : s.Measurement(node, Measurement.LatencyP95) > limit ? 0.05
                : s.Measurement(node, Measurement.LatencyP99) > limit ? 0.01
                : 0;
            yield return (
                string.Create(Inv, $"{Service} latency {LatencyTarget:0.##} % < {limit:0.##} ms"),
                slow / Math.Max(1e-9, 1 - LatencyTarget / 100)
            );
        }
    }

    /// <summary>The urgency of a window: "page" when any objective burns at ≥ 1, else "warning"; null when no SLO is
    /// set.</summary>
    public static Urgency? UrgencyOf(IReadOnlyList<ServiceLevelObjective> objectives, GraphSnapshot s)
    {
        if (objectives.Count == 0)
            return null;
        var burns = objectives.SelectMany(o => o.Burn(s)).ToList();
        if (burns.Count == 0)
            return new Urgency(Urgency.Warning, 0);
        var worst = burns.MaxBy(b => b.BurnRate);
        double rate = Math.Round(worst.BurnRate, 2);
        return rate >= 1 ? new Urgency(Urgency.Page, rate, worst.Name) : new Urgency(Urgency.Warning, rate);
    }
}
