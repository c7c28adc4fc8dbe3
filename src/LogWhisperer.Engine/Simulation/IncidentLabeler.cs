using LogWhisperer.Graph;

namespace LogWhisperer.Simulation;

/// <summary>
/// Labels windows from the simulator's ground truth. A window that a fault covers for at least
/// <paramref name="minOverlap"/> of its length is an incident of that fault; a window far from every fault
/// is quiet; windows that only graze a fault, or follow one closely, are ambiguous (null: not trained on).
/// </summary>
public sealed class IncidentLabeler(IReadOnlyList<Fault> faults, double minOverlap = 0.3, long settleMs = 60_000)
{
    public SnapshotLabel? Label(long startMs, long endMs)
    {
        long size = endMs - startMs;
        Fault? best = null;
        long bestOverlap = 0;
        bool nearby = false;
        foreach (var f in faults)
        {
            long overlap = Math.Min(endMs, f.EndMs) - Math.Max(startMs, f.StartMs);
            if (overlap > bestOverlap)
            {
                best = f;
                bestOverlap = overlap;
            }
            if (startMs < f.EndMs + settleMs && endMs > f.StartMs)
                nearby = true;
        }
        if (best is not null && bestOverlap >= minOverlap * size)
            return new SnapshotLabel(best.Service, best.Kind);
        return nearby ? null : SnapshotLabel.Quiet;
    }
}
