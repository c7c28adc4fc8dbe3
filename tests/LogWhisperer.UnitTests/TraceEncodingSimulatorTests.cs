using LogWhisperer.Features.Traces;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;
using Xunit.Abstractions;

namespace LogWhisperer.Tests;

/// <summary>The trace encoder on simulated incidents: the signals it adds move where the fault is.</summary>
public class TraceEncodingSimulatorTests(ITestOutputHelper output)
{
    [Fact]
    public void CriticalPathShareAndCallPathNoveltyMoveWithFaults()
    {
        long t0 = new SimulationOptions().StartMs,
            min = 60_000,
            window = 30_000;
        Fault[] faults =
        [
            new("productcatalogservice", FaultKind.Latency, t0 + 6 * min, t0 + 9 * min, 0.8),
            new("cartservice", FaultKind.PodKill, t0 + 12 * min, t0 + 14 * min, 1.0),
        ];
        var sim = new ChaosSimulator(TestData.OnlineBoutique(), new SimulationOptions { Seed = 5 }, faults);
        var windows = sim.RunUntil(t0 + 15 * min)
            .SelectMany(b => b)
            .OfType<SpanRecord>()
            .GroupBy(s => (s.TimestampMs - t0) / window)
            .OrderBy(g => g.Key)
            .Select(g => (Start: t0 + g.Key * window, Features: TraceWindowEncoder.Encode(g.ToList())))
            .ToList();

        var novelty = new CallPathNovelty();
        var normal = windows.Where(w => w.Start < t0 + 5 * min).ToList();
        foreach (var w in normal)
            novelty.AddNormal(w.Features);
        bool During(Fault f, long start) => start >= f.StartMs && start + window <= f.EndMs;

        double Share((long Start, TraceWindowFeatures Features) w) =>
            w.Features.CriticalPathShare.GetValueOrDefault("productcatalogservice");
        double normalShare = normal.Average(Share),
            faultShare = windows.Where(w => During(faults[0], w.Start)).Average(Share);
        output.WriteLine(
            $"productcatalogservice critical-path share: {normalShare:F3} normal → {faultShare:F3} under latency fault"
        );
        Assert.True(faultShare > 1.5 * normalShare, $"share {normalShare:F3} → {faultShare:F3}");

        var quiet = windows
            .Where(w =>
                w.Start >= t0 + 5 * min && !faults.Any(f => w.Start + window > f.StartMs && w.Start < f.EndMs + min)
            )
            .ToList();
        var killed = windows.Where(w => During(faults[1], w.Start)).ToList();
        double quietMax = quiet.Max(w => novelty.Measure(w.Features).Distance),
            killedMin = killed.Min(w => novelty.Measure(w.Features).Distance);
        output.WriteLine(
            $"call-path distance: quiet windows max {quietMax:F4}, pod-kill windows min {killedMin:F4}; "
                + $"unseen-path share under pod kill {killed.Average(w => novelty.Measure(w.Features).UnseenShare):F3} "
                + $"vs quiet {quiet.Average(w => novelty.Measure(w.Features).UnseenShare):F3}"
        );
        Assert.True(
            killedMin > quietMax,
            "every pod-kill window's call paths are further from normal than any quiet window's"
        );
        double quietUnseen = quiet.Max(w => novelty.Measure(w.Features).UnseenShare);
        // A pod kill cuts call paths short: paths never seen before (in most of its windows; the pod may be back in the
        // last).
        Assert.True(killed.Average(w => novelty.Measure(w.Features).UnseenShare) > quietUnseen);
    }
}
