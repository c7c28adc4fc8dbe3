using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Pipeline;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;

namespace LogWhisperer.Hosting;

/// <summary>
/// One simulated cluster pushed through the real pipeline: the way demo, eval, training-data generation,
/// tests and benchmarks all drive the engine (no side path around the stages).
/// </summary>
public sealed class SimulatedRun
{
    public required Topology Topology { get; init; }
    public required IReadOnlyList<Fault> Faults { get; init; }
    public SimulationOptions Simulation { get; init; } = new();
    public PipelineOptions Pipeline { get; init; } = new();

    /// <summary>Event time to simulate up to (defaults to the end of the last fault plus two minutes).</summary>
    public long? EndMs { get; init; }

    /// <summary>Pace event time at this multiple of real time; 0 = as fast as possible.</summary>
    public double Speed { get; init; }

    /// <summary>Spoils the simulated telemetry before the engine sees it (missing modality, sampling, skew,
    /// redelivery).</summary>
    public Degradation Degradation { get; init; } = Degradation.None;

    public ChaosSimulator? Simulator { get; private set; }

    public async Task<RcaPipeline> RunAsync(
        GatScorer? scorer,
        IRcaSink? sink,
        IDeadLetterSink? deadLetters = null,
        bool label = false,
        Action<GraphSnapshot>? onSnapshot = null,
        CancellationToken stop = default,
        CancellationToken abort = default,
        Action<ScoredSnapshot>? onScored = null
    )
    {
        Simulator = new ChaosSimulator(Topology, Simulation, Faults);
        var featurizer = new Featurizer(Pipeline.Features, Topology.ServiceNames, Topology.DeclaredEdges());
        Func<WindowFeatures, SnapshotLabel?>? labeler = null;
        if (label)
        {
            var l = new IncidentLabeler(Faults);
            labeler = w => l.Label(w.StartMs, w.EndMs);
        }
        var pipeline = new RcaPipeline(
            Pipeline,
            featurizer,
            scorer,
            sink,
            deadLetters ?? new MemoryDeadLetterSink(),
            labeler,
            onSnapshot,
            onScored
        );
        long end = EndMs ?? IncidentPlan.EndOf(Faults, Simulation.StartMs);
        ITelemetrySource source = new SimulatorSource(Simulator, end, Speed, Pipeline.Changes);
        if (Degradation != Degradation.None)
            source = new DegradedSource(source, Degradation);
        await pipeline.RunAsync(source, stop, abort);
        return pipeline;
    }
}
