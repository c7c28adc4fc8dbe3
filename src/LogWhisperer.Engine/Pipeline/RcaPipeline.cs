using System.Diagnostics;
using System.Threading.Channels;
using LogWhisperer.Decode;
using LogWhisperer.Explain;
using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Observability;
using LogWhisperer.Scoring;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;

namespace LogWhisperer.Pipeline;

public sealed record PipelineOptions
{
    public WindowOptions Windows { get; init; } = new();
    public FeaturizerOptions Features { get; init; } = new();
    public ExplainerOptions Explainer { get; init; } = new();

    /// <summary>Capacity of each channel between stages, in items (batches, windows or snapshots).</summary>
    public int ChannelCapacity { get; init; } = 32;

    /// <summary>Most records held between the source and the window stage (batches vary in size; memory follows
    /// records).</summary>
    public long MaxBufferedRecords { get; init; } = 1_000_000;

    /// <summary>Most snapshots scored in one forward pass.</summary>
    public int MaxScoringBatch { get; init; } = 64;

    /// <summary>Write every graph snapshot as Arrow IPC files here.</summary>
    public string? SnapshotDirectory { get; init; }

    /// <summary>When set, the pipeline reports to it (stage counters, RCA events, dead letters, latencies) for
    /// /metrics.</summary>
    public EngineMetrics? Metrics { get; init; }

    /// <summary>Limits, duplicate removal and load shedding applied to every record before the windows.</summary>
    public IngestOptions Ingest { get; init; } = new();

    /// <summary>Changes (rollouts, config changes) seen by the sources; with it the change-correlation stage runs after
    /// scoring.</summary>
    public Changes.ChangeLog? Changes { get; init; }
    public Changes.ChangeCorrelationOptions ChangeCorrelation { get; init; } = new();
}

/// <summary>
/// The engine: source → decode → window → featurize → graph → score → explain → sink, each stage a task,
/// connected by bounded channels (a slow stage makes the ones before it wait: backpressure, not memory
/// growth). Stopping the source (Ctrl-C) drains: every stage finishes what it holds, open windows are
/// flushed and their events emitted. The hard token aborts at once.
/// </summary>
public sealed class RcaPipeline
{
    private readonly PipelineOptions _options;
    private readonly Featurizer _featurizer;
    private readonly GatScorer? _scorer;
    private readonly IRcaSink? _sink;
    private readonly IDeadLetterSink _deadLetters;
    private readonly Func<WindowFeatures, SnapshotLabel?>? _labeler;
    private readonly Action<GraphSnapshot>? _onSnapshot;
    private readonly Action<ScoredSnapshot>? _onScored;

    /// <summary>The pipeline's counters; a run that builds a pipeline per Kafka assignment gives each one the same, so
    /// they count over the whole run and do not restart at a rebalance (replayed windows count again).</summary>
    public PipelineCounters Counters { get; init; } = new();

    /// <summary>Records rejected by a limit, truncated, deduplicated or shed (see <see cref="IngestGuard"/>).</summary>
    public IngestCounters Ingest => _guard.Counters;
    private readonly IngestGuard _guard;
    public StageMetrics Decode { get; } = new("decode");
    public StageMetrics Window { get; } = new("window");
    public StageMetrics Featurize { get; } = new("featurize");
    public StageMetrics Graph { get; } = new("graph");
    public StageMetrics Score { get; } = new("score");
    public StageMetrics Explain { get; } = new("explain");
    public StageMetrics Sink { get; } = new("sink");
    public IReadOnlyList<StageMetrics> Stages => [Decode, Window, Featurize, Graph, Score, Explain, Sink];

    /// <summary>Wall-clock time from a window's close to its being done (see <see cref="OnWindowDone"/>).</summary>
    public WindowLatency Latency { get; } = new();

    /// <summary>
    /// Called with (cluster, window end ms) once a window is completely handled: its event written to the
    /// sink, or judged quiet, or used for warm-up. Sources that must not lose input (Kafka) commit their
    /// offsets from here, never earlier. Windows of one cluster complete in event-time order.
    /// </summary>
    public Action<string, long>? OnWindowDone { get; init; }

    /// <summary>What the explain stage hands the sink: the window, and its event unless it was quiet.</summary>
    private sealed record WindowOutcome(string Cluster, long WindowEndMs, RcaEvent? Event);

    /// <param name="scorer">Null to stop after the graph stage (collecting training snapshots).</param>
    /// <param name="labeler">Attaches ground truth to snapshots when it is known.</param>
    /// <param name="onSnapshot">Sees every snapshot built (after warm-up).</param>
    /// <param name="onScored">Sees every scored snapshot, quiet or not (evaluation).</param>
    public RcaPipeline(
        PipelineOptions options,
        Featurizer featurizer,
        GatScorer? scorer,
        IRcaSink? sink,
        IDeadLetterSink deadLetters,
        Func<WindowFeatures, SnapshotLabel?>? labeler = null,
        Action<GraphSnapshot>? onSnapshot = null,
        Action<ScoredSnapshot>? onScored = null
    )
    {
        options.Windows.Validate();
        if (scorer is not null && sink is null)
            throw new ArgumentException("a scoring pipeline needs a sink");
        if (options.Metrics is { } metrics)
        {
            metrics.Attach(this);
            if (sink is not null)
                sink = metrics.CountEvents(sink);
            deadLetters = metrics.CountDeadLetters(deadLetters);
        }
        _options = options;
        _featurizer = featurizer;
        _scorer = scorer;
        _sink = sink;
        _deadLetters = deadLetters;
        _labeler = labeler;
        _onSnapshot = onSnapshot;
        _onScored = onScored;
        _guard = new IngestGuard(options.Ingest with { WindowMs = options.Windows.SizeMs });
    }

    private Channel<T> NewChannel<T>() =>
        Channel.CreateBounded<T>(
            new BoundedChannelOptions(_options.ChannelCapacity)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
            }
        );

    /// <param name="stop">Stops reading the source and drains what is in flight.</param>
    /// <param name="abort">Abandons everything at once.</param>
    public async Task RunAsync(
        ITelemetrySource source,
        CancellationToken stop = default,
        CancellationToken abort = default
    )
    {
        var windows = NewChannel<WindowAggregate>();
        var tasks = WindowingTasks(source, windows.Writer, stop, abort);
        tasks.AddRange(ScoringTasks(windows.Reader, abort));
        await Task.WhenAll(tasks);
    }

    /// <summary>
    /// The first half alone (source → decode → window): each closed window goes to <paramref name="onWindow"/>,
    /// then counts as done (<see cref="OnWindowDone"/>). The window stage of the two-stage topology.
    /// </summary>
    public async Task RunWindowingAsync(
        ITelemetrySource source,
        Func<WindowAggregate, CancellationToken, ValueTask> onWindow,
        CancellationToken stop = default,
        CancellationToken abort = default
    )
    {
        var windows = NewChannel<WindowAggregate>();
        var tasks = WindowingTasks(source, windows.Writer, stop, abort);
        tasks.Add(HandWindows(windows.Reader, onWindow, abort));
        await Task.WhenAll(tasks);
    }

    /// <summary>
    /// The second half alone (featurize → graph → score → explain → sink) over windows closed elsewhere, in
    /// event-time order per cluster. The scoring stage of the two-stage topology.
    /// </summary>
    public async Task RunWindowsAsync(
        IAsyncEnumerable<IReadOnlyList<WindowAggregate>> closed,
        CancellationToken stop = default,
        CancellationToken abort = default
    )
    {
        var windows = NewChannel<WindowAggregate>();
        var tasks = new List<Task> { ProduceWindows(closed, windows.Writer, stop, abort) };
        tasks.AddRange(ScoringTasks(windows.Reader, abort));
        await Task.WhenAll(tasks);
    }

    private List<Task> WindowingTasks(
        ITelemetrySource source,
        ChannelWriter<WindowAggregate> windows,
        CancellationToken stop,
        CancellationToken abort
    )
    {
        var raw = NewChannel<IReadOnlyList<TelemetryRecord>>();
        var decoded = NewChannel<IReadOnlyList<TelemetryRecord>>();
        var windower = new EventTimeWindower(_options.Windows, Counters, _deadLetters);
        var budget = new RecordBudget(_options.MaxBufferedRecords);
        var decode = new TransformStage<IReadOnlyList<TelemetryRecord>, IReadOnlyList<TelemetryRecord>>(
            Decode,
            b => ValidateBatch(b, budget),
            b => b.Count,
            b => b.Count
        );
        var window = new WindowStage(Window, windower, budget, Latency);
        return
        [
            Produce(source, raw.Writer, budget, stop, abort),
            decode.RunAsync(raw.Reader, decoded.Writer, abort),
            window.RunAsync(decoded.Reader, windows, abort),
        ];
    }

    /// <summary>
    /// The one place a window becomes done: its event written, judged quiet, used for warm-up, or handed on (window
    /// stage alone). Offsets are committed from <see cref="OnWindowDone"/>, so nothing calls it earlier.
    /// </summary>
    private void WindowDone(string cluster, long endMs, bool withEvent = false)
    {
        if (Latency.Done(cluster, endMs, withEvent) is { } seconds)
            _options.Metrics?.WindowProcessed(seconds);
        OnWindowDone?.Invoke(cluster, endMs);
    }

    private List<Task> ScoringTasks(ChannelReader<WindowAggregate> windows, CancellationToken abort)
    {
        var features = NewChannel<WindowFeatures>();
        var snapshots = NewChannel<GraphSnapshot>();
        var scored = NewChannel<ScoredSnapshot>();
        var events = NewChannel<WindowOutcome>();
        var explainer = new Explainer(
            _options.Explainer,
            _scorer is null ? null : new IntegratedGradients(_scorer.Model, _scorer.Device)
        );
        var changes = _options.Changes is { } log
            ? new Changes.ChangeCorrelator(log, _options.ChangeCorrelation, _options.Explainer.IncidentThreshold)
            : null;
        var tasks = new List<Task>
        {
            new TransformStage<WindowAggregate, WindowFeatures>(Featurize, FeaturizeWindow).RunAsync(
                windows,
                features.Writer,
                abort
            ),
            new TransformStage<WindowFeatures, GraphSnapshot>(Graph, BuildSnapshot).RunAsync(
                features.Reader,
                snapshots.Writer,
                abort
            ),
        };
        if (_scorer is null)
            tasks.Add(Drain(snapshots.Reader, abort));
        else
        {
            tasks.Add(
                new ScoreStage(Score, _scorer, _options.MaxScoringBatch, _options.Metrics).RunAsync(
                    snapshots.Reader,
                    scored.Writer,
                    abort
                )
            );
            var explain = new TransformStage<ScoredSnapshot, WindowOutcome>(
                Explain,
                ExplainOne(explainer, changes),
                countOut: o => o.Event is null ? 0 : 1
            );
            tasks.Add(explain.RunAsync(scored.Reader, events.Writer, abort));
            tasks.Add(WriteEvents(events.Reader, abort));
        }
        return tasks;
    }

    private async Task HandWindows(
        ChannelReader<WindowAggregate> windows,
        Func<WindowAggregate, CancellationToken, ValueTask> onWindow,
        CancellationToken abort
    )
    {
        await foreach (var window in windows.ReadAllAsync(abort))
        {
            await onWindow(window, abort);
            WindowDone(window.Cluster, window.EndMs);
        }
    }

    private async Task ProduceWindows(
        IAsyncEnumerable<IReadOnlyList<WindowAggregate>> closed,
        ChannelWriter<WindowAggregate> writer,
        CancellationToken stop,
        CancellationToken abort
    )
    {
        try
        {
            await StageOutput.StartApart();
            await foreach (var batch in closed.WithCancellation(stop))
            foreach (var window in batch)
            {
                Latency.Closed(window.Cluster, window.EndMs);
                await writer.WriteAsync(window, abort);
            }
            writer.Complete();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !abort.IsCancellationRequested)
        {
            writer.Complete();
        }
        catch (Exception e)
        {
            writer.Complete(e);
            throw;
        }
    }

    private static async Task Produce(
        ITelemetrySource source,
        ChannelWriter<IReadOnlyList<TelemetryRecord>> writer,
        RecordBudget budget,
        CancellationToken stop,
        CancellationToken abort
    )
    {
        try
        {
            await StageOutput.StartApart();
            await foreach (var batch in source.ReadAsync(stop).WithCancellation(stop))
            {
                await budget.AcquireAsync(batch.Count, abort);
                await writer.WriteAsync(batch, abort);
            }
            writer.Complete();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !abort.IsCancellationRequested)
        {
            writer.Complete(); // graceful stop: downstream drains what it has
        }
        catch (Exception e)
        {
            writer.Complete(e);
            throw;
        }
    }

    private IReadOnlyList<TelemetryRecord> ValidateBatch(IReadOnlyList<TelemetryRecord> batch, RecordBudget budget)
    {
        List<TelemetryRecord>? kept = null;
        for (int i = 0; i < batch.Count; i++)
        {
            var admitted = _guard.Admit(batch[i], _deadLetters, Counters);
            if (ReferenceEquals(admitted, batch[i]))
            {
                kept?.Add(admitted);
                continue;
            }
            kept ??= new List<TelemetryRecord>(batch.Take(i)); // copy only when something changes
            if (admitted is not null)
                kept.Add(admitted);
        }
        if (kept is not null)
            budget.Release(batch.Count - kept.Count); // the window stage releases the rest
        return kept ?? batch;
    }

    /// <summary>A warm-up window is done here: it only taught the baselines.</summary>
    private WindowFeatures? FeaturizeWindow(WindowAggregate window)
    {
        var f = _featurizer.Featurize(window);
        if (!f.Warmup)
            return f;
        Counters.CountWarmupWindow();
        WindowDone(window.Cluster, window.EndMs);
        return null;
    }

    private GraphSnapshot BuildSnapshot(WindowFeatures features)
    {
        var snapshot = GraphSnapshot.From(features, _labeler?.Invoke(features));
        if (_options.SnapshotDirectory is { } dir)
            SnapshotStore.Write(dir, snapshot);
        _onSnapshot?.Invoke(snapshot);
        return snapshot;
    }

    private Func<ScoredSnapshot, WindowOutcome> ExplainOne(Explainer explainer, Changes.ChangeCorrelator? changes) =>
        scored =>
        {
            // Change correlation: a separate stage after scoring (the model's inputs know nothing of changes).
            if (changes is not null)
                scored = changes.Apply(scored);
            _onScored?.Invoke(scored);
            var rca = explainer.Explain(scored);
            if (rca is null)
                Counters.CountQuietWindow();
            return new WindowOutcome(scored.Snapshot.Cluster, scored.Snapshot.WindowEndMs, rca);
        };

    private async Task WriteEvents(ChannelReader<WindowOutcome> reader, CancellationToken abort)
    {
        await foreach (var outcome in reader.ReadAllAsync(abort))
        {
            if (outcome.Event is { } rca)
            {
                using var activity = Sink.Tracing.StartActivity(Sink.Name);
                activity?.SetTag("logwhisperer.cluster", rca.Cluster).SetTag("logwhisperer.event_id", rca.Id);
                long t0 = Stopwatch.GetTimestamp();
                Sink.AddIn(1);
                await _sink!.WriteAsync(rca, abort);
                Sink.AddBusy(t0);
                Sink.AddOut(1);
            }
            else if (_sink is not null)
                await _sink.QuietAsync(
                    outcome.Cluster,
                    DateTimeOffset.FromUnixTimeMilliseconds(outcome.WindowEndMs),
                    abort
                ); // alert routers resolve here
            WindowDone(outcome.Cluster, outcome.WindowEndMs, withEvent: outcome.Event is not null);
        }
    }

    private async Task Drain(ChannelReader<GraphSnapshot> reader, CancellationToken abort)
    {
        await foreach (var snapshot in reader.ReadAllAsync(abort))
            WindowDone(snapshot.Cluster, snapshot.WindowEndMs);
    }
}
