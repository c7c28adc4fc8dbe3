using LogWhisperer.Evaluation;
using LogWhisperer.Graph;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

public class IncidentJudgementTests
{
    private const long Start = 1_767_225_600_000;

    private static ScoredSnapshot Scored(int window, float incident, params float[] root) =>
        new(
            GraphSnapshot.From(SnapshotTests.Window(root.Length, start: Start + window * 30_000L)),
            root,
            incident,
            new float[7],
            new float[root.Length - 1],
            new float[root.Length - 1]
        );

    [Fact]
    public void JudgedWindowsStartAtTheFirstAlarmDuringTheFaultAndStopAtTheBudgetOrTheFaultsEnd()
    {
        // The fault covers windows 2–6; window 1 alarms before it, window 3 is the first alarm during it.
        var scored = Enumerable
            .Range(0, 10)
            .Select(w => Scored(w, w is 1 or 3 or 4 ? 0.9f : 0.1f, 0.2f, 0.3f, 0.5f))
            .ToList();
        var fault = new Fault("svc-2", FaultKind.Errors, Start + 2 * 30_000, Start + 7 * 30_000, 1);

        var judged = Evaluator.IncidentWindows(scored, fault, threshold: 0.5, windows: 4)!;
        Assert.True(judged.Alarmed);
        Assert.Equal([3, 4, 5, 6], judged.Windows.Select(w => (int)((w.Snapshot.WindowStartMs - Start) / 30_000)));
        Assert.Equal(
            [3],
            Evaluator
                .IncidentWindows(scored, fault, 0.5, windows: 1)!
                .Windows.Select(w => (int)((w.Snapshot.WindowStartMs - Start) / 30_000))
        );

        // No alarm: the first window mostly inside the fault starts the judgement.
        var silent = scored.Select(s => s with { IncidentProbability = 0.1f }).ToList();
        var unalarmed = Evaluator.IncidentWindows(silent, fault, 0.5, windows: 2)!;
        Assert.False(unalarmed.Alarmed);
        Assert.Equal(Start + 2 * 30_000, unalarmed.Windows[0].Snapshot.WindowStartMs);
    }

    [Fact]
    public void AnIncidentsVerdictIsTheScoresSummedPerServiceOverItsWindows()
    {
        // The first window blames svc-0 (a noisy moment); the next two blame svc-2, the root. Summed: svc-2 1.3, svc-0
        // 1.1.
        var windows = new[]
        {
            Scored(0, 0.9f, 0.9f, 0.0f, 0.1f),
            Scored(1, 0.9f, 0.1f, 0.3f, 0.6f),
            Scored(2, 0.9f, 0.1f, 0.3f, 0.6f),
        };
        var fault = new Fault("svc-2", FaultKind.Errors, Start, Start + 90_000, 1);
        var scores = windows.Select(w => w.RootProbability).ToArray();

        Assert.Equal(1, new JudgedIncident(fault, windows, true).RankOf(scores));
        Assert.Equal(2, new JudgedIncident(fault, windows[..1], true).RankOf(scores[..1])); // the first window alone
        // absent: N + 1
        Assert.Equal(4, new JudgedIncident(fault with { Service = "elsewhere" }, windows, true).RankOf(scores));
    }
}
