using LogWhisperer.Windowing;

namespace LogWhisperer.Features;

public sealed record FeaturizerOptions
{
    /// <summary>Windows of history each baseline keeps.</summary>
    public int BaselineWindows { get; init; } = 40;

    /// <summary>Windows a cluster must have seen before its features are trusted (no RCA during warm-up).</summary>
    public int WarmupWindows { get; init; } = 6;

    /// <summary>Distinct templates remembered per service (bounded memory; the oldest are not evicted, new ones
    /// past the cap are simply not remembered and keep counting as new).</summary>
    public int MaxTemplatesPerService { get; init; } = 20_000;

    /// <summary>A service (or edge) no window has held for this long is forgotten with its baselines, known templates
    /// and counters, unless declared; the windower forgets its templates at the same window
    /// (<see cref="WindowOptions.ForgetServiceAfterMs"/>).</summary>
    public long ForgetServiceAfterMs { get; init; } = WindowOptions.DefaultForgetServiceAfterMs;
}

/// <summary>
/// Turns closed windows into features: raw measurements per service and edge, compared with each series'
/// own robust baseline. Stateful per cluster (baselines, known templates, known services and edges), so
/// services that go silent stay in the graph and their silence becomes a feature — for
/// <see cref="FeaturizerOptions.ForgetServiceAfterMs"/>, after which they are forgotten (memory follows the services
/// the mesh has now).
/// </summary>
public sealed class Featurizer(
    FeaturizerOptions options,
    IEnumerable<string>? declaredServices = null,
    IEnumerable<(string From, string To)>? declaredEdges = null
)
{
    private readonly Dictionary<string, ClusterState> _clusters = new(StringComparer.Ordinal);
    private readonly string[] _declaredServices = declaredServices?.ToArray() ?? [];
    private readonly (string, string)[] _declaredEdges = declaredEdges?.ToArray() ?? [];

    // Never forgotten: declared services and the ends of declared edges.
    private readonly HashSet<string> _declared =
    [
        .. declaredServices ?? [],
        .. (declaredEdges ?? []).SelectMany(e => new[] { e.From, e.To }),
    ];

    /// <summary>
    /// Call edges discovered while running (e.g. <see cref="Sources.ServiceGraphDiscovery"/>), asked once per
    /// window; it may be called from the featurize stage while another thread updates it, so it must be
    /// thread-safe. An edge it stops returning leaves the graph unless the window itself saw traffic on it.
    /// </summary>
    public Func<IReadOnlyCollection<(string From, string To)>>? LiveEdges { get; init; }

    private sealed class ClusterState
    {
        public readonly SortedSet<string> Services = new(StringComparer.Ordinal);
        public readonly HashSet<(string, string)> Edges = [];
        public readonly HashSet<(string, string)> LiveEdges = []; // in Edges because LiveEdges declared them
        public readonly Dictionary<string, RobustBaseline[]> Baselines = new(StringComparer.Ordinal);
        public readonly Dictionary<(string, string), RobustBaseline[]> EdgeBaselines = [];
        public readonly Dictionary<string, HashSet<int>> KnownTemplates = new(StringComparer.Ordinal);
        public readonly Dictionary<string, double> LastRestarts = new(StringComparer.Ordinal);
        public readonly Dictionary<string, (double Value, long Ms)> LastCpu = new(StringComparer.Ordinal);
        public readonly Dictionary<string, Metrics.MeshRequestMeasures> Mesh = new(StringComparer.Ordinal);
        public readonly Dictionary<string, long> ServiceSeenMs = new(StringComparer.Ordinal); // window end
        public readonly Dictionary<(string, string), long> EdgeSeenMs = [];
        public int Windows;
    }

    public WindowFeatures Featurize(WindowAggregate window)
    {
        if (!_clusters.TryGetValue(window.Cluster, out var state))
        {
            _clusters[window.Cluster] = state = new ClusterState();
            state.Services.UnionWith(_declaredServices);
            foreach (var e in _declaredEdges)
            {
                state.Edges.Add(e);
                state.Services.Add(e.Item1);
                state.Services.Add(e.Item2);
            }
        }
        if (LiveEdges is not null)
            UpdateLiveEdges(state, LiveEdges(), window);
        state.Services.UnionWith(window.Services.Keys);
        foreach (var e in window.Edges.Keys)
        {
            state.Edges.Add(e);
            state.LiveEdges.Remove(e);
            state.Services.Add(e.From);
            state.Services.Add(e.To);
        }

        var services = state.Services.ToArray();
        var index = new Dictionary<string, int>(services.Length, StringComparer.Ordinal);
        for (int i = 0; i < services.Length; i++)
            index[services[i]] = i;
        var edges = state
            .Edges.Select(e => (From: index[e.Item1], To: index[e.Item2], Key: e))
            .OrderBy(e => e.From)
            .ThenBy(e => e.To)
            .ToArray();

        int n = services.Length,
            m = FeatureSchema.MeasurementCount,
            f = FeatureSchema.NodeFeatureCount;
        var measurements = new double[n * m];
        var baselines = new double[n * m];
        var features = new float[n * f];
        var newTemplates = new string?[n];
        double seconds = window.Seconds;

        // Callers' view of each service, from the edges into it.
        var inCalls = new long[n];
        var inErrors = new long[n];
        var inP95 = new double[n];
        Array.Fill(inP95, double.NaN);
        foreach (var (key, stats) in window.Edges)
        {
            int to = index[key.To];
            inCalls[to] += stats.Calls;
            inErrors[to] += stats.Errors;
            double p95 = stats.Latency.Quantile(0.95);
            if (!double.IsNaN(p95))
                inP95[to] = double.IsNaN(inP95[to]) ? p95 : Math.Max(inP95[to], p95);
        }

        for (int i = 0; i < n; i++)
        {
            window.Services.TryGetValue(services[i], out var s);
            var row = measurements.AsSpan(i * m, m);
            Measure(state, services[i], s, seconds, row, out newTemplates[i]);
            row[(int)Measurement.InboundErrorRatio] = inCalls[i] > 0 ? (double)inErrors[i] / inCalls[i] : double.NaN;
            row[(int)Measurement.InboundLatencyP95] = inP95[i];
            row[(int)Measurement.InboundCallRate] = inCalls[i] / seconds;

            if (!state.Baselines.TryGetValue(services[i], out var history))
                state.Baselines[services[i]] = history = Enumerable
                    .Range(0, m)
                    .Select(_ => new RobustBaseline(options.BaselineWindows))
                    .ToArray();
            for (int k = 0; k < m; k++)
                baselines[i * m + k] = history[k].Median;
            for (int k = 0; k < f; k++)
                features[i * f + k] = Feature(FeatureSchema.NodeFeatures[k], row, history, seconds);
            for (int k = 0; k < m; k++)
                history[k].Add(row[k]);
        }

        int me = FeatureSchema.EdgeMeasurements;
        var edgeMeasurements = new double[edges.Length * me];
        var edgeFeatures = new float[edges.Length * me];
        for (int j = 0; j < edges.Length; j++)
        {
            window.Edges.TryGetValue(edges[j].Key, out var e);
            double calls = e?.Calls ?? 0;
            Span<double> row =
            [
                calls / seconds,
                calls > 0 ? e!.Errors / calls : double.NaN,
                e?.Latency.Quantile(0.95) ?? double.NaN,
            ];
            if (!state.EdgeBaselines.TryGetValue(edges[j].Key, out var history))
                state.EdgeBaselines[edges[j].Key] = history = Enumerable
                    .Range(0, me)
                    .Select(_ => new RobustBaseline(options.BaselineWindows))
                    .ToArray();
            edgeFeatures[j * me + 0] = FeatureSchema.Squash(history[0].Z(row[0], FeatureSchema.EdgeFloors[0]));
            edgeFeatures[j * me + 1] = double.IsNaN(row[1]) ? 0 : (float)row[1];
            edgeFeatures[j * me + 2] = FeatureSchema.Squash(history[2].Z(row[2], FeatureSchema.EdgeFloors[2]));
            for (int k = 0; k < me; k++)
            {
                edgeMeasurements[j * me + k] = row[k];
                history[k].Add(row[k]);
            }
        }

        bool warmup = state.Windows++ < options.WarmupWindows;
        ForgetSilent(state, window);
        return new WindowFeatures(
            window.Cluster,
            window.StartMs,
            window.EndMs,
            services,
            measurements,
            baselines,
            features,
            newTemplates,
            edges.Select(e => (e.From, e.To)).ToArray(),
            edgeMeasurements,
            edgeFeatures,
            warmup
        );
    }

    /// <summary>Forgets services and edges no window has held for <see cref="FeaturizerOptions.ForgetServiceAfterMs"/>
    /// (after this window's features: they still saw them), except declared ones and live edges.</summary>
    private void ForgetSilent(ClusterState state, WindowAggregate window)
    {
        foreach (var service in window.HeldServices())
            state.ServiceSeenMs[service] = window.EndMs;
        foreach (var edge in window.Edges.Keys)
            state.EdgeSeenMs[edge] = window.EndMs;
        long before = window.EndMs - options.ForgetServiceAfterMs;
        foreach (var (edge, seen) in state.EdgeSeenMs)
            if (seen < before)
            {
                state.EdgeSeenMs.Remove(edge); // removing while enumerating is allowed for Dictionary in .NET
                if (!_declaredEdges.Contains(edge) && !state.LiveEdges.Contains(edge))
                {
                    state.Edges.Remove(edge);
                    state.EdgeBaselines.Remove(edge);
                }
            }
        foreach (var (service, seen) in state.ServiceSeenMs)
        {
            if (seen >= before)
                continue;
            state.ServiceSeenMs.Remove(service);
            if (_declared.Contains(service) || state.LiveEdges.Any(e => e.Item1 == service || e.Item2 == service))
                continue;
            state.Services.Remove(service);
            state.Baselines.Remove(service);
            state.KnownTemplates.Remove(service);
            state.LastCpu.Remove(service);
            state.LastRestarts.Remove(service);
            state.Mesh.Remove(service);
            // Its edges go with it, whoever else they touch (an edge needs both ends in the graph).
            state.Edges.RemoveWhere(e => e.Item1 == service || e.Item2 == service);
            foreach (var edge in state.EdgeBaselines.Keys.Where(e => e.Item1 == service || e.Item2 == service).ToList())
            {
                state.EdgeBaselines.Remove(edge);
                state.EdgeSeenMs.Remove(edge);
            }
        }
    }

    private static void UpdateLiveEdges(
        ClusterState state,
        IReadOnlyCollection<(string From, string To)> live,
        WindowAggregate window
    )
    {
        var current = live.ToHashSet();
        foreach (var gone in state.LiveEdges.Where(e => !current.Contains(e)).ToList())
        {
            state.LiveEdges.Remove(gone);
            if (!window.Edges.ContainsKey(gone))
                state.Edges.Remove(gone);
        }
        foreach (var e in current)
            if (state.Edges.Add(e))
            {
                state.LiveEdges.Add(e);
                state.Services.Add(e.From);
                state.Services.Add(e.To);
            }
    }

    private void Measure(
        ClusterState state,
        string service,
        ServiceWindowStats? s,
        double seconds,
        Span<double> row,
        out string? newTemplate
    )
    {
        newTemplate = null;
        row.Fill(double.NaN);
        row[(int)Measurement.RequestRate] = (s?.ServerSpans ?? 0) / seconds;
        row[(int)Measurement.LogRate] = (s?.Logs ?? 0) / seconds;
        row[(int)Measurement.TelemetryRate] = (s?.Records ?? 0) / seconds;
        row[(int)Measurement.Restarts] = 0;
        // Counts are 0, not missing, when the service is quiet: silence is the baseline they compare with.
        row[(int)Measurement.ErrorSpanCount] = s?.ServerErrors ?? 0;
        row[(int)Measurement.ErrorLogCount] = s?.ErrorLogs ?? 0;
        row[(int)Measurement.OwnErrorLogCount] = s?.OwnErrorLogs ?? 0;
        row[(int)Measurement.NewTemplateLineCount] = 0;
        row[(int)Measurement.SlowSpanCount] = s?.Evidence.SlowSpans ?? 0;
        row[(int)Measurement.ShiftedErrorLineCount] = s?.Evidence.ShiftedErrorLines ?? 0;
        row[(int)Measurement.TraceSpectrum] = s?.Evidence.Spectrum ?? 0;
        row[(int)Measurement.DeepestAnomalyShare] = s?.Evidence.DeepestShare ?? 0;
        row[(int)Measurement.EventRise] = s?.Evidence.EventRise ?? 0;
        row[(int)Measurement.EventFall] = s?.Evidence.EventFall ?? 0;
        row[(int)Measurement.AnomalousTraces] = s?.Evidence.AnomalousTraces ?? 0;
        row[(int)Measurement.WindowAnomalousTraces] = s?.Evidence.WindowAnomalousTraces ?? 0;
        if (s is null)
            return;

        if (s.ServerSpans > 0)
        {
            row[(int)Measurement.ErrorRatio] = (double)s.ServerErrors / s.ServerSpans;
            row[(int)Measurement.OriginErrorRatio] = (double)s.OriginErrors / s.ServerSpans;
            row[(int)Measurement.LatencyP50] = s.Latency.Quantile(0.5);
            row[(int)Measurement.LatencyP95] = s.Latency.Quantile(0.95);
            row[(int)Measurement.SelfTimeP95] = s.SelfTime.Quantile(0.95);
            row[(int)Measurement.LatencyP99] = s.Latency.Quantile(0.99);
        }
        if (s.Mesh is { } mesh)
        {
            // Measured every window, so the counters' last values stay current even while spans are present.
            if (!state.Mesh.TryGetValue(service, out var measures))
                state.Mesh[service] = measures = new Metrics.MeshRequestMeasures(options.ForgetServiceAfterMs);
            var fromMesh = measures.Measure(mesh);
            // Server spans say more (self time, origin errors); the mesh metrics stand in for them when absent.
            if (s.ServerSpans == 0)
            {
                if (!double.IsNaN(fromMesh.RequestRate))
                    row[(int)Measurement.RequestRate] = fromMesh.RequestRate;
                row[(int)Measurement.ErrorRatio] = fromMesh.ErrorRatio;
                row[(int)Measurement.LatencyP50] = fromMesh.LatencyP50;
                row[(int)Measurement.LatencyP95] = fromMesh.LatencyP95;
                row[(int)Measurement.LatencyP99] = fromMesh.LatencyP99;
            }
        }
        if (s.ClientSpans > 0)
            row[(int)Measurement.OutboundErrorRatio] = (double)s.ClientErrors / s.ClientSpans;
        if (s.Logs > 0)
        {
            row[(int)Measurement.ErrorLogRatio] = (double)(s.ErrorLogs + s.WarnLogs) / s.Logs;
            if (!state.KnownTemplates.TryGetValue(service, out var known))
                state.KnownTemplates[service] = known = [];
            long fresh = 0;
            int best = 0;
            foreach (var (template, (count, example)) in s.Templates)
            {
                if (known.Contains(template))
                    continue;
                fresh += count;
                if (count > best)
                {
                    best = count;
                    newTemplate = example;
                }
            }
            // The cluster's first window only teaches templates: everything in it would count as new.
            foreach (var template in s.Templates.Keys)
                if (known.Count < options.MaxTemplatesPerService)
                    known.Add(template);
            row[(int)Measurement.NewTemplateRatio] = state.Windows == 0 ? 0 : (double)fresh / s.Logs;
            row[(int)Measurement.NewTemplateLineCount] = state.Windows == 0 ? 0 : fresh;
            if (state.Windows == 0)
                newTemplate = null;
        }
        if (!double.IsNaN(s.CpuLast))
        {
            // Rate from the previous window's last sample when there is one: with a scrape interval as long as
            // the window (60 s scrapes are common) a window holds a single sample. A counter reset gives no rate.
            var (fromValue, fromMs) =
                state.LastCpu.TryGetValue(service, out var last) && last.Ms < s.CpuLastMs
                    ? last
                    : (s.CpuFirst, s.CpuFirstMs);
            if (s.CpuLastMs > fromMs && s.CpuLast >= fromValue)
                row[(int)Measurement.CpuCores] = (s.CpuLast - fromValue) / ((s.CpuLastMs - fromMs) / 1000.0);
            state.LastCpu[service] = (s.CpuLast, s.CpuLastMs);
        }
        row[(int)Measurement.MemoryBytes] = s.MemoryMaxBytes;
        if (!double.IsNaN(s.RestartsLast))
        {
            double previous = state.LastRestarts.TryGetValue(service, out var p) ? p : s.RestartsFirst;
            row[(int)Measurement.Restarts] = Math.Max(0, s.RestartsLast - previous);
            state.LastRestarts[service] = s.RestartsLast;
        }
    }

    private static float Feature(
        FeatureInfo feature,
        ReadOnlySpan<double> row,
        RobustBaseline[] history,
        double seconds
    )
    {
        int k = (int)feature.Measurement;
        double value = row[k];
        return feature.Transform switch
        {
            FeatureTransform.RobustZ => FeatureSchema.Squash(
                history[k].Z(value, FeatureSchema.Measurements[k].AbsoluteFloor)
            ),
            FeatureTransform.Ratio => double.IsNaN(value) ? 0f : (float)value,
            FeatureTransform.RestartCount => (float)(Math.Min(3, value) / 3),
            FeatureTransform.Drop => history[k].Count < 3 || !(history[k].Median > 0)
                ? 0f
                : FeatureSchema.DropEvidence(value * seconds, history[k].Median * seconds),
            FeatureTransform.CountSurprise => history[k].Count < 3
                ? 0f
                : FeatureSchema.Squash(FeatureSchema.CountZ(value, history[k].Median)),
            FeatureTransform.Squashed => double.IsFinite(value) ? FeatureSchema.Squash(value) : 0f,
            _ => throw new InvalidOperationException(),
        };
    }
}
