using LogWhisperer.Evaluation;
using LogWhisperer.Explain;
using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

public class ExplainerTests
{
    [Theory]
    [InlineData("login failed password=hunter2 for user", "password=<redacted>")]
    [InlineData("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefg", "<redacted>")]
    [InlineData("sent receipt to jane.doe@example.com", "<email>")]
    [InlineData("calling api with api_key=AKIA1234567890 now", "api_key=<redacted>")]
    public void SecretsAreMasked(string line, string expected)
    {
        var masked = SecretMasker.Mask(line);
        Assert.Contains(expected, masked);
        Assert.DoesNotContain("hunter2", masked);
        Assert.DoesNotContain("jane.doe", masked);
        Assert.DoesNotContain("AKIA1234567890", masked);
        Assert.DoesNotContain("eyJzdWIiOiIxIn0", masked);
    }

    [Fact]
    public void AccuracyMetricsFollowTheirDefinitions()
    {
        var t0 = DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000);
        RcaEvent Event(int minute, params string[] ranked) =>
            new()
            {
                Id = "e" + minute,
                Cluster = "c",
                WindowStart = t0.AddMinutes(minute),
                WindowEnd = t0.AddMinutes(minute).AddSeconds(30),
                IncidentProbability = 0.9,
                Candidates = ranked.Select((s, i) => new RcaCandidate(i + 1, s, 0.1)).ToArray(),
                FaultType = new FaultGuess("Latency", 0.5),
                Explanation = "x",
                Evidence = new RcaEvidence([], [], null),
            };
        long Ms(int minute) => t0.AddMinutes(minute).ToUnixTimeMilliseconds();
        var faults = new[]
        {
            new Fault("a", FaultKind.Latency, Ms(10), Ms(13), 1), // first event ranks it 1st
            // first event ranks it 3rd (a later, better one does not count)
            new Fault("b", FaultKind.Errors, Ms(20), Ms(23), 1),
            new Fault("c", FaultKind.PodKill, Ms(30), Ms(33), 1), // never reported
        };
        var events = new[] { Event(10, "a", "x"), Event(20, "x", "y", "b"), Event(21, "b"), Event(50, "z") };
        var report = EvaluationReport.Score(faults, events, 0);
        Assert.Equal(1 / 3.0, report.AccuracyAt(1), 6);
        Assert.Equal(2 / 3.0, report.AccuracyAt(3), 6);
        Assert.Equal((1 + 1 + 2 + 2 + 2) / 3.0 / 5, report.Avg5, 6);
        Assert.Equal(2 / 3.0, report.DetectionRate, 6);
        Assert.Equal(1, report.FalseAlarms);
    }
}
