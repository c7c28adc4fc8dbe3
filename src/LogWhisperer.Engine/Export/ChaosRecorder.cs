using System.Diagnostics;
using LogWhisperer.Simulation;

namespace LogWhisperer.Export;

/// <summary>What a recording wrote, and how fast the simulator made it.</summary>
public sealed record ChaosRecording(
    long Logs,
    long Metrics,
    long Spans,
    long Bytes,
    long SimulatedMs,
    TimeSpan Elapsed,
    IReadOnlyList<Fault> Faults,
    IReadOnlyList<BenignEvent> BenignEvents
)
{
    public long Records => Logs + Metrics + Spans;
    public double RecordsPerSecond => Records / Math.Max(Elapsed.TotalSeconds, 1e-9);
    public double TimesRealTime => SimulatedMs / 1000.0 / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>
/// Runs the chaos simulator and records what the mesh would export, in the real wire formats, to a payload
/// sink (files, later a message bus), plus the ground truth of every incident and benign event beside it.
/// </summary>
public static class ChaosRecorder
{
    public const string GroundTruthFile = "ground_truth.jsonl",
        TopologyFile = "topology.json";

    /// <param name="progress">Told after every simulated minute (a long run records for minutes).</param>
    public static async Task<ChaosRecording> RecordAsync(
        Topology topology,
        SimulationOptions options,
        IReadOnlyList<Fault> faults,
        long endMs,
        IPayloadSink sink,
        CancellationToken cancellationToken = default,
        IProgress<RecordingProgress>? progress = null
    )
    {
        var clock = Stopwatch.StartNew();
        var simulator = new ChaosSimulator(topology, options, faults);
        await using var exporter = new TelemetryExporter(sink, options.Namespace);
        while (simulator.NowMs < endMs && !cancellationToken.IsCancellationRequested)
        {
            await exporter.WriteAsync(simulator.NextSecond(), cancellationToken);
            if ((simulator.NowMs - options.StartMs) % 60_000 == 0)
                progress?.Report(
                    new RecordingProgress(
                        simulator.NowMs - options.StartMs,
                        endMs - options.StartMs,
                        exporter.Logs + exporter.Metrics + exporter.Spans
                    )
                );
        }
        return new ChaosRecording(
            exporter.Logs,
            exporter.Metrics,
            exporter.Spans,
            exporter.Bytes,
            simulator.NowMs - options.StartMs,
            clock.Elapsed,
            faults,
            simulator.BenignEvents.ToList()
        );
    }

    /// <summary>Records into <paramref name="directory"/>: loki.jsonl, otlp.jsonl, metrics/*.prom, ground_truth.jsonl,
    /// topology.json.</summary>
    public static async Task<ChaosRecording> RecordToDirectoryAsync(
        Topology topology,
        SimulationOptions options,
        IReadOnlyList<Fault> faults,
        long endMs,
        string directory,
        CancellationToken cancellationToken = default,
        IProgress<RecordingProgress>? progress = null
    )
    {
        Directory.CreateDirectory(directory);
        var recording = await RecordAsync(
            topology,
            options,
            faults,
            endMs,
            new DirectoryPayloadSink(directory),
            cancellationToken,
            progress
        );
        GroundTruthEntry.WriteFile(
            Path.Combine(directory, GroundTruthFile),
            options.Cluster,
            recording.Faults,
            recording.BenignEvents
        );
        await File.WriteAllTextAsync(Path.Combine(directory, TopologyFile), topology.ToJson(), cancellationToken);
        return recording;
    }
}

/// <summary>How far a recording has got: simulated time so far out of the whole run, and the records written.</summary>
public readonly record struct RecordingProgress(long SimulatedMs, long TotalMs, long Records);
