using BenchmarkDotNet.Attributes;
using LogWhisperer.Explain;
using LogWhisperer.Sinks;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// The incident stage's cost per event: grouping into the open incident and looking up similar incidents in a
/// full store (1,000 past incidents, a linear scan of cosines), in memory. One operation is a whole incident:
/// 10 windows, then 2 quiet windows that resolve it into the store (which stays at its capacity).
/// </summary>
[MemoryDiagnoser]
public class IncidentStageBenchmark
{
    private IncidentStage _stage = null!;
    private RcaEvent[] _events = [];
    private int _next;

    [Params(0, 1000)]
    public int StoredIncidents { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var store = new IncidentStore(capacity: Math.Max(1, StoredIncidents));
        var features = new[]
        {
            "cpu_usage_z",
            "latency_p50_z",
            "self_time_p95_z",
            "origin_error_ratio_z",
            "error_log_surprise",
            "restarts",
        };
        var rng = new Random(1);
        for (int i = 0; i < StoredIncidents; i++)
            store.Put(
                new StoredIncident(
                    $"inc-c-{i}",
                    "c",
                    "svc" + rng.Next(20),
                    "Errors",
                    DateTimeOffset.UnixEpoch.AddMinutes(i),
                    null,
                    features.Where(_ => rng.NextDouble() < 0.5).ToDictionary(f => f, _ => rng.NextDouble() * 3),
                    [i * 30_000L]
                )
            );
        _stage = new IncidentStage(new NullSink(), store: store);
        _events = Enumerable
            .Range(0, 1000)
            .Select(w => new RcaEvent
            {
                Id = $"rca-c-{w}",
                Cluster = "c",
                WindowStart = DateTimeOffset.UnixEpoch.AddDays(1).AddSeconds(30 * w),
                WindowEnd = DateTimeOffset.UnixEpoch.AddDays(1).AddSeconds(30 * w + 30),
                IncidentProbability = 0.99,
                Candidates = [new RcaCandidate(1, "svc1", 0.9), new RcaCandidate(2, "svc2", 0.05)],
                FaultType = new FaultGuess("Errors", 0.8),
                Explanation = "x",
                Evidence = new RcaEvidence(
                    [
                        new FeatureEvidence(
                            "svc1",
                            "origin_error_ratio_z",
                            "origin_error_ratio",
                            "ratio",
                            0.5,
                            0,
                            20,
                            2.5
                        ),
                    ],
                    [],
                    null
                ),
            })
            .ToArray();
    }

    [Benchmark(Description = "one incident (10 events, 2 quiet windows) through the incident stage")]
    public async Task OneIncident()
    {
        for (int i = 0; i < 10; i++)
            await _stage.WriteAsync(_events[_next++ % _events.Length], default);
        await _stage.QuietAsync("c", _events[_next % _events.Length].WindowEnd, default);
        await _stage.QuietAsync("c", _events[_next % _events.Length].WindowEnd.AddSeconds(30), default);
        _next += 2;
    }

    private sealed class NullSink : IRcaSink
    {
        public ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
