using System.Diagnostics;
using LogWhisperer.Export;
using LogWhisperer.Simulation;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// The chaos simulator alone on a synthetic mesh at 200 requests/s: records/s and times real time, first
/// generating telemetry in memory (what the in-process pipeline gets), then with the Istio metrics on and
/// every batch encoded to Loki JSON, Prometheus text and OTLP JSON (what `chaos run` writes, minus the disk).
/// </summary>
public static class SimulatorSpeed
{
    public static int Run(string[] args)
    {
        int services = args.Length > 0 ? int.Parse(args[0]) : 50;
        int minutes = args.Length > 1 ? int.Parse(args[1]) : 10;
        var topology = SyntheticTopology.Generate(services, seed: 1, requestsPerSecond: 200, new CircuitBreakerSpec());
        var options = new SimulationOptions { Cluster = "bench", Seed = 1 };
        long end = options.StartMs + minutes * 60_000L;
        var faults = IncidentPlan.Create(topology, Math.Max(1, minutes / 8), 1, options.StartMs);
        Console.WriteLine(
            $"mesh: {services} services, {topology.Services.Sum(s => s.Value.Operations.Count)} operations, "
                + $"{topology.DeclaredEdges().Count()} call edges, 200 req/s, "
                + $"{minutes} simulated minutes, {faults.Count} fault(s)"
        );

        var clock = Stopwatch.StartNew();
        long records = 0;
        var simulator = new ChaosSimulator(topology, options, faults);
        foreach (var batch in simulator.RunUntil(end))
            records += batch.Count;
        Report("in memory", records, clock.Elapsed, minutes);

        clock.Restart();
        var recording = ChaosRecorder
            .RecordAsync(topology, options with { IstioMetrics = true }, faults, end, new NullSink())
            .GetAwaiter()
            .GetResult();
        Report(
            "encoded  ",
            recording.Records,
            clock.Elapsed,
            minutes,
            $", {recording.Bytes / 1048576.0:N0} MiB of Loki/Prometheus/OTLP payloads"
        );
        return 0;
    }

    private static void Report(string what, long records, TimeSpan elapsed, int minutes, string extra = "") =>
        Console.WriteLine(
            $"{what}: {records:N0} records in {elapsed.TotalSeconds:0.00} "
                + $"s = {records / elapsed.TotalSeconds:N0} records/s, "
                + $"{minutes * 60 / elapsed.TotalSeconds:0.0}x real time{extra}"
        );

    /// <summary>Discards payloads, so that encoding is timed without the disk.</summary>
    internal sealed class NullSink : IPayloadSink
    {
        public ValueTask WriteAsync(Payload payload, CancellationToken cancellationToken = default) =>
            ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
