using LogWhisperer.Changes;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Simulation;

/// <summary>
/// Drives a topology with request traffic, second by simulated second, and writes the telemetry a real
/// mesh would: server and client spans, log lines, scraped container metrics and (optionally) the Istio
/// request metrics. Faults change service behaviour and propagate to callers through timeouts, retries,
/// circuit breakers and failed calls, so the symptom is often loudest away from the cause. Deterministic
/// for a seed.
/// </summary>
public sealed class ChaosSimulator
{
    private readonly Topology _topology;
    private readonly SimulationOptions _options;
    private readonly IReadOnlyList<Fault> _faults;
    private readonly List<BenignEvent> _benign = [];
    private readonly Random _rng;
    private readonly string[] _services;
    private readonly Dictionary<string, int> _serviceIndex;
    private readonly ServiceState[] _state;
    private readonly double[] _cpuSecondsTotal;
    private readonly double[] _cpuThisInterval;
    private readonly int[] _deploys;
    private readonly (string Service, string Operation, OperationSpec Spec)[] _entryOps;
    private readonly double[] _entryWeights;
    private readonly ServiceSpec[] _specs;

    // Calls resolved once (target index, operation) rather than parsed from "service/operation" per request.
    private readonly Dictionary<CallSpec, (int Target, string Operation, OperationSpec Spec)> _resolved = new(
        ReferenceEqualityComparer.Instance
    );
    private readonly CircuitBreakerSpec?[] _breakerSpecs;
    private readonly Dictionary<int, CircuitBreaker> _breakers = [];
    private readonly IstioMetrics? _istio;
    private readonly (double Probability, LogSeverity Severity, int Template)[] _chatter;
    private readonly LatencyWeather _jitter;
    private readonly Random _tailRng;

    /// <summary>
    /// Per service: whether its failure lines name the peer that failed ("rpc error calling X") or only say that
    /// processing failed, as half of real code does (Train-Ticket's "Result is null", a servlet's nested exception).
    /// </summary>
    private readonly bool[] _namesPeers;

    /// <summary>Per service: the share of requests it fails while healthy
    /// (<see cref="SimulationOptions.MaxBackgroundErrorRate"/>).</summary>
    private readonly double[] _healthyErrorRate;

    /// <summary>Per service: whether it logs every successful request
    /// (<see cref="SimulationOptions.SteadyLoggingShare"/>).</summary>
    private readonly bool[] _logsEveryRequest;
    private static readonly string[] ChatterTemplates =
    [
        "[{0}] No order found for seat query, date {1:yyyy-MM-dd} trip G{2}",
        "[{0}] result is empty for id {3}, returning the default",
        "[{0}] Get the response failed! Result is null for key {3}",
        "[{0}] cache miss for item {3}, loading from store",
    ];
    private List<TelemetryRecord> _out = [];

    // Changes (rollouts, config changes) draw from their own generator, so turning them on or off leaves the
    // simulated traffic of every other fault exactly as it was.
    private readonly Random _changeRng;
    private readonly int[] _versions;
    private readonly List<ChangeEvent> _changes = [];
    private readonly List<(
        long AtMs,
        int Service,
        ChangeKind Kind,
        bool Benign,
        string? Description
    )> _scheduledChanges = [];
    private long _now;

    public ChaosSimulator(Topology topology, SimulationOptions options, IReadOnlyList<Fault>? faults = null)
    {
        _topology = topology;
        _options = options;
        _faults = faults ?? [];
        _rng = new Random(options.Seed);
        _services = topology.ServiceNames.ToArray();
        _serviceIndex = _services.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i);
        foreach (var f in _faults)
            if (!_serviceIndex.ContainsKey(f.Service))
                throw new ArgumentException($"fault names unknown service '{f.Service}'");
        _state = new ServiceState[_services.Length];
        _cpuSecondsTotal = new double[_services.Length];
        _cpuThisInterval = new double[_services.Length];
        _deploys = new int[_services.Length];
        _entryOps = topology.Entrypoints.Select(e => topology.Resolve(e.Operation)).ToArray();
        _entryWeights = topology.Entrypoints.Select(e => e.Weight).ToArray();
        _specs = _services.Select(s => topology.Services[s]).ToArray();
        foreach (var call in topology.Services.Values.SelectMany(s => s.Operations.Values).SelectMany(o => o.Calls))
        {
            var (target, operation, spec) = topology.Resolve(call.To);
            _resolved[call] = (_serviceIndex[target], operation, spec);
        }
        _breakerSpecs = _services.Select(s => topology.Services[s].CircuitBreaker ?? topology.CircuitBreaker).ToArray();
        _chatter = Chatter(_services.Length, options);
        _jitter = new LatencyWeather(_services.Length, options);
        _tailRng = new Random(options.Seed ^ 0x7a1151);
        var styles = new Random(options.Seed ^ 0x1095);
        _namesPeers = _services.Select(_ => styles.NextDouble() < options.PeerNamingShare).ToArray();
        _healthyErrorRate = _services
            .Select(_ =>
                options.MaxBackgroundErrorRate > ServiceState.NormalErrorRate
                    ? ServiceState.NormalErrorRate
                        * Math.Pow(options.MaxBackgroundErrorRate / ServiceState.NormalErrorRate, styles.NextDouble())
                    : ServiceState.NormalErrorRate
            )
            .ToArray();
        // Drawn after the styles above, so that a share of 0 leaves every earlier draw as it was.
        _logsEveryRequest = _services.Select(_ => styles.NextDouble() < options.SteadyLoggingShare).ToArray();
        _istio = options.IstioMetrics ? new IstioMetrics(_services, options.Namespace) : null;
        _now = options.StartMs;
        _changeRng = new Random(options.Seed ^ 0x5EED);
        _versions = _services.Select(_ => 1 + _changeRng.Next(5)).ToArray();
        ScheduleChanges();
    }

    /// <summary>
    /// The rollout or configuration change behind each change-caused fault (10–40 s before its symptoms begin), the
    /// benign changes that often ship with it, and background benign configuration changes.
    /// </summary>
    private void ScheduleChanges()
    {
        foreach (var f in _faults)
        {
            if (f.Kind is not (FaultKind.BadDeploy or FaultKind.ConfigChange))
                continue;
            long at = f.StartMs - 10_000 - _changeRng.Next(30_000);
            var kind = f.Kind == FaultKind.BadDeploy ? ChangeKind.Rollout : ChangeKind.Config;
            _scheduledChanges.Add(
                (at, _serviceIndex[f.Service], kind, false, kind == ChangeKind.Config ? "max_connections" : null)
            );
            if (_services.Length > 1 && _changeRng.NextDouble() < _options.ConcurrentBenignChanges)
                for (int k = 1 + _changeRng.Next(2); k > 0; k--)
                {
                    int other;
                    do other = _changeRng.Next(_services.Length);
                    while (_services[other] == f.Service);
                    _scheduledChanges.Add(
                        (
                            at + _changeRng.Next(-60_000, 60_000),
                            other,
                            _changeRng.Next(2) == 0 ? ChangeKind.Rollout : ChangeKind.Config,
                            true,
                            null
                        )
                    );
                }
        }
        long end = _faults.Count == 0 ? _options.StartMs + 3_600_000 : _faults.Max(f => f.EndMs) + 600_000;
        double perMs = _options.BenignConfigChangesPerHour / 3_600_000.0;
        for (long t = _options.StartMs; perMs > 0 && t < end; )
        {
            t += (long)(-Math.Log(1 - _changeRng.NextDouble()) / perMs);
            _scheduledChanges.Add((t, _changeRng.Next(_services.Length), ChangeKind.Config, true, null));
        }
        _scheduledChanges.Sort((a, b) => a.AtMs.CompareTo(b.AtMs));
    }

    private static readonly string[] ConfigKeys =
    [
        "log_level",
        "cache_ttl_seconds",
        "feature.new_checkout",
        "retry_budget",
        "request_timeout_ms",
        "max_connections",
    ];

    private void EmitDueChanges()
    {
        while (_scheduledChanges.Count > 0 && _scheduledChanges[0].AtMs < _now + 1000)
        {
            var (at, i, kind, benign, description) = _scheduledChanges[0];
            _scheduledChanges.RemoveAt(0);
            if (kind == ChangeKind.Rollout)
            {
                string from = $"v1.{_versions[i]}.0",
                    to = $"v1.{++_versions[i]}.0";
                _changes.Add(
                    new ChangeEvent(
                        at,
                        _options.Cluster,
                        _services[i],
                        kind,
                        from,
                        to,
                        $"image {_services[i]}:{to}",
                        "simulator"
                    )
                );
                if (benign)
                    _deploys[i]++; // a rollout replaces the pods: the restart counter moves, benign or not
                Log(
                    _services[i],
                    at + 1000 + _changeRng.Next(4000),
                    LogSeverity.Info,
                    $"Starting {_services[i]} version {to} on port 8080"
                );
            }
            else
            {
                var key = description ?? ConfigKeys[_changeRng.Next(ConfigKeys.Length - 1)];
                _changes.Add(
                    new ChangeEvent(
                        at,
                        _options.Cluster,
                        _services[i],
                        kind,
                        null,
                        null,
                        $"ConfigMap {_services[i]}-config: {key}",
                        "simulator"
                    )
                );
                Log(
                    _services[i],
                    at + 500 + _changeRng.Next(2000),
                    LogSeverity.Info,
                    $"configuration reloaded: {key} changed"
                );
            }
        }
    }

    public IReadOnlyList<Fault> Faults => _faults;
    public IReadOnlyList<BenignEvent> BenignEvents => _benign;

    /// <summary>Every change so far (rollouts, configuration changes), in the order they happened.</summary>
    public IReadOnlyList<ChangeEvent> Changes => _changes;
    public long NowMs => _now;

    /// <summary>Simulates the next second and returns its telemetry (in no particular order within the
    /// second).</summary>
    public List<TelemetryRecord> NextSecond()
    {
        _out = new List<TelemetryRecord>(_out.Count + 64);
        MaybeStartBenignEvent();
        EmitDueChanges();
        UpdateStates();

        double rate = _topology.RequestsPerSecond * _options.LoadFactor * LoadCurve(_now);
        foreach (var e in _benign)
            if (e.Kind == BenignEventKind.LoadSpike && e.IsActive(_now))
                rate *= 1 + e.Intensity;
        int requests = Poisson(rate);
        for (int r = 0; r < requests; r++)
        {
            long start = _now + _rng.Next(1000);
            var (service, operation, spec) = _entryOps[PickWeighted(_entryWeights)];
            Execute(-1, service, operation, spec, start, NewTraceId(), parentSpanId: null);
        }

        if ((_now - _options.StartMs) % _options.ScrapeIntervalMs == 0)
            Scrape();
        _now += 1000;
        return _out;
    }

    /// <summary>Runs until <paramref name="endMs"/>, yielding one batch per simulated second.</summary>
    public IEnumerable<List<TelemetryRecord>> RunUntil(long endMs)
    {
        while (_now < endMs)
            yield return NextSecond();
    }

    // A gentle daily cycle: peak in the afternoon, trough at night.
    private static double LoadCurve(long ms) => 1 + 0.25 * Math.Sin(2 * Math.PI * ((ms / 1000.0 / 3600.0) - 9) / 24);

    private void UpdateStates()
    {
        for (int i = 0; i < _services.Length; i++)
        {
            var spec = _specs[i];
            var s = ServiceState.Normal(spec, _healthyErrorRate[i]);
            foreach (var f in _faults)
                if (f.Service == _services[i])
                    s.Apply(f, spec, _now);
            s.Restarts += _deploys[i];
            s.LatencyFactor *= _jitter.Factor(i, _now);
            foreach (var e in _benign)
                if (e.Kind == BenignEventKind.GcPause && e.Service == _services[i] && e.IsActive(_now))
                    s.ExtraLatencyMs += 100 + 200 * e.Intensity;
            if (s.Crashed)
                Log(
                    _services[i],
                    _now + 900,
                    LogSeverity.Fatal,
                    $"panic: failed to initialise {_services[i]}: dial tcp 10.0.{i / 250}.{i % 250 + 2}:5432: connect: "
                        + "connection refused\n   at main.mustConnect() "
                        + "in main.go:line 57\n   at main.main() in main.go:line 31\nexit status 2"
                );
            _state[i] = s;
        }
    }

    private void MaybeStartBenignEvent()
    {
        if (_options.BenignEventsPerHour <= 0 || _rng.NextDouble() >= _options.BenignEventsPerHour / 3600.0)
            return;
        var kind = (BenignEventKind)_rng.Next(3);
        int svc = _rng.Next(_services.Length);
        double intensity = _rng.NextDouble();
        long duration = kind switch
        {
            BenignEventKind.LoadSpike => 30_000 + _rng.Next(60_000),
            BenignEventKind.GcPause => 1000 + _rng.Next(2000),
            _ => 1000,
        };
        _benign.Add(new BenignEvent(kind, _services[svc], _now, _now + duration, intensity));
        if (kind == BenignEventKind.Deploy)
        {
            _deploys[svc]++;
            Log(
                _services[svc],
                _now + _rng.Next(1000),
                LogSeverity.Info,
                $"Starting {_services[svc]} version 1.{_deploys[svc]}.{_rng.Next(10)} on port {8000 + _rng.Next(1000)}"
            );
            string from = $"v1.{_versions[svc]}.0",
                to = $"v1.{++_versions[svc]}.0";
            _changes.Add(
                new ChangeEvent(
                    _now,
                    _options.Cluster,
                    _services[svc],
                    ChangeKind.Rollout,
                    from,
                    to,
                    $"image {_services[svc]}:{to}",
                    "simulator"
                )
            );
        }
    }

    /// <param name="WrongValue">The call succeeded but returned a wrong value (a bad deploy's null), which the caller
    /// fails on.</param>
    private readonly record struct Outcome(double DurationMs, bool Failed, string? Reason, bool WrongValue = false);

    /// <summary>Serves one request in a service: its own work, its downstream calls, its span and logs.</summary>
    /// <param name="caller">Index of the calling service, -1 for a request entering at the edge.</param>
    /// <param name="callerServerSpanId">The caller's server span (the parent when client spans are not
    /// recorded).</param>
    private Outcome Execute(
        int caller,
        string service,
        string operation,
        OperationSpec spec,
        double start,
        string traceId,
        string? parentSpanId,
        string? callerServerSpanId = null
    )
    {
        int idx = _serviceIndex[service];
        var serviceSpec = _specs[idx];
        ref var state = ref _state[idx];
        string spanId = NewSpanId();
        double self =
            LogNormal(spec.LatencyMs * state.LatencyFactor, spec.Jitter)
            + state.ExtraLatencyMs * (0.7 + 0.6 * _rng.NextDouble());
        if (_options.LatencyTailShare > 0 && _tailRng.NextDouble() < _options.LatencyTailShare)
            self *= 3 + 7 * _tailRng.NextDouble();
        _cpuThisInterval[idx] += serviceSpec.CpuPerRequestMs / 1000.0;
        bool stuck = state.SlowShare > 0 && _rng.NextDouble() < state.SlowShare;
        if (stuck)
            self += state.SlowExtraMs * (0.5 + _rng.NextDouble());

        double t = start + self / 2;
        string? failedCall = null,
            failReason = null;
        bool wrongValue = false;
        // A faulty service's request takes another code path: an exception thrown part-way skips the rest of
        // the handler (its later downstream calls and its log lines), and a version that returns nulls skipped
        // the lookup that should have filled them (its last downstream call). Real exceptions leave this mark —
        // the root's usual events fall — even where only the caller logs the failure. Drawn only while the
        // service is faulty, so fault-free traffic is drawn exactly as before.
        bool thrown = state.ErrorRate > _healthyErrorRate[idx] && _rng.NextDouble() < state.ErrorRate;
        bool returnsWrong = state.WrongReturnRate > 0 && _rng.NextDouble() < state.WrongReturnRate;
        int callsMade =
            thrown ? _rng.Next(spec.Calls.Count + 1)
            : returnsWrong ? Math.Max(0, spec.Calls.Count - 1)
            : spec.Calls.Count;
        for (int c = 0; c < callsMade; c++)
        {
            var call = spec.Calls[c];
            if (call.Probability < 1 && _rng.NextDouble() >= call.Probability)
                continue;
            var outcome = CallDownstream(service, spanId, traceId, call, t);
            t += outcome.DurationMs;
            var peer = call.To[..call.To.IndexOf('/')];
            if (outcome.WrongValue && !outcome.Failed)
            {
                // The caller's own code fails on the value: its error, its log line, with the trace it belongs to.
                failedCall = peer;
                failReason = $"unexpected response from {peer}: result is null";
                Log(
                    service,
                    (long)t,
                    LogSeverity.Error,
                    _namesPeers[idx]
                        ? $"java.lang.NullPointerException: {peer} result is null in {operation}"
                        : $"java.lang.NullPointerException: result is null in {operation}",
                    traceId,
                    spanId
                );
                wrongValue = true;
                break;
            }
            if (!outcome.Failed)
                continue;
            if (call.Optional)
            {
                Log(
                    service,
                    (long)t,
                    LogSeverity.Warn,
                    $"could not retrieve {peer} response, serving without it: {outcome.Reason} trace_id={traceId}"
                );
                continue;
            }
            failedCall = peer;
            failReason = outcome.Reason;
            break; // a required dependency failed: the request fails here
        }

        bool ownError =
            failedCall is null
            && (thrown || (state.ErrorRate <= _healthyErrorRate[idx] && _rng.NextDouble() < state.ErrorRate));
        double duration = t - start + self / 2;
        bool failed = ownError || failedCall is not null;
        // Without client spans the callee's server span hangs under the caller's server span.
        string? parent = _options.ClientSpans ? parentSpanId : callerServerSpanId;
        _out.Add(
            new SpanRecord(
                (long)start,
                _options.Cluster,
                service,
                traceId,
                spanId,
                parent,
                operation,
                SpanKind.Server,
                null,
                duration,
                failed && _options.SpanStatus
            )
        );

        long end = (long)(start + duration);
        if (ownError && state.SilentErrors) { } // thrown across the RPC boundary: only the caller will log it
        else if (ownError)
        {
            if (state.ConfigErrors && _rng.NextDouble() < 0.8)
                Log(
                    service,
                    end,
                    LogSeverity.Error,
                    $"{operation} failed: timed out waiting for a connection from the pool (max_connections=2, "
                        + $"waiting={2 + _rng.Next(40)}) trace_id={traceId}",
                    traceId,
                    spanId
                );
            else if (state.BadDeployErrors && _rng.NextDouble() < 0.8)
                Log(
                    service,
                    end,
                    LogSeverity.Error,
                    $"Unhandled exception in {operation}: System.NullReferenceException: "
                        + "Object reference not set to an instance of an object\n   at "
                        + $"{service}.Handlers.{Sanitize(operation)}Handler.Handle(Request req) "
                        + $"in Handler.cs:line {40 + _rng.Next(3)}\n   trace_id={traceId}",
                    traceId,
                    spanId
                );
            else
                Log(
                    service,
                    end,
                    LogSeverity.Error,
                    $"{operation} failed: internal error code=500 request_id={Guid(_rng)} trace_id={traceId}",
                    traceId,
                    spanId
                );
        }
        else if (failedCall is not null && !wrongValue)
            Log(
                service,
                end,
                LogSeverity.Error,
                _namesPeers[idx]
                    ? $"{operation} failed: rpc error calling {failedCall}: "
                        + $"{failReason} after {duration:F0}ms trace_id={traceId}"
                    : $"{operation} failed: request processing failed: "
                        + $"{failReason} after {duration:F0}ms trace_id={traceId}",
                traceId,
                spanId
            );
        else if (!failed && !returnsWrong && (_logsEveryRequest[idx] || _rng.NextDouble() < _options.InfoLogSampling))
            Log(
                service,
                end,
                LogSeverity.Info,
                $"{operation} completed status=200 duration={duration:F1}ms trace_id={traceId}",
                traceId,
                spanId
            );
        if (_chatter[idx].Probability > 0 && _rng.NextDouble() < _chatter[idx].Probability)
            Log(
                service,
                end,
                _chatter[idx].Severity,
                string.Format(
                    System.Globalization.CultureInfo.InvariantCulture,
                    ChatterTemplates[_chatter[idx].Template],
                    operation,
                    DateTimeOffset.FromUnixTimeMilliseconds(end),
                    _rng.Next(1000, 9999),
                    Guid(_rng)
                ),
                traceId,
                spanId
            );
        if (stuck && _rng.NextDouble() < 0.3)
            Log(
                service,
                end,
                LogSeverity.Warn,
                $"slow {operation}: "
                    + $"duration={self:F0}ms waiting for lock "
                    + $"rows_examined={_rng.Next(1000, 90000)} trace_id={traceId}",
                traceId,
                spanId
            );
        _istio?.Record(IstioMetrics.Reporter.Destination, caller, idx, failed ? 500 : 200, duration);
        if (state.HighMemory && _rng.NextDouble() < 0.05)
            Log(
                service,
                end,
                LogSeverity.Warn,
                $"GC pause of {50 + _rng.Next(400)}ms, heap {state.MemoryMb:F0}MB of {serviceSpec.MemoryLimitMb:F0}MB"
            );

        return new Outcome(
            duration,
            failed,
            failed ? "status=500 Internal Server Error" : null,
            returnsWrong && !failed
        );
    }

    /// <summary>
    /// A client call with the mesh's timeout, retry and circuit-breaking policy; writes the client span per
    /// attempt and the caller's (source-reported) Istio metrics.
    /// </summary>
    private Outcome CallDownstream(string caller, string callerSpanId, string traceId, CallSpec call, double start)
    {
        var (targetIdx, operation, spec) = _resolved[call];
        string target = _services[targetIdx];
        int callerIdx = _serviceIndex[caller];
        ref var targetState = ref _state[targetIdx];
        var breaker = BreakerFor(callerIdx, targetIdx);
        double t = start,
            total = 0;
        Outcome last = default;
        for (int attempt = 0; attempt <= call.Retries; attempt++)
        {
            if (breaker is not null && !breaker.Allows(t))
            {
                // Ejected: the sidecar fails the call at once without sending it, and does not retry.
                last = new Outcome(0.1, true, "no healthy upstream (circuit open)");
                Record(callerIdx, targetIdx, 503, last.DurationMs);
                ClientSpan(t, caller, traceId, NewSpanId(), callerSpanId, operation, target, last.DurationMs, true);
                total += last.DurationMs;
                break;
            }
            // A delayed pod's packets are late both ways: calls to it and the calls it makes.
            double network = LogNormal(0.3, 0.3) + targetState.NetworkDelayMs + _state[callerIdx].NetworkDelayMs;
            bool retryable;
            int code;
            if (targetState.Down)
            {
                last = new Outcome(network + 1, true, "connection refused (UNAVAILABLE)");
                retryable = true;
                code = 503;
            }
            else if (_rng.NextDouble() < targetState.IncomingLossRate)
            {
                // The request (or its reply) was dropped: the caller waits for its deadline.
                last = new Outcome(call.TimeoutMs, true, $"context deadline exceeded (timeout {call.TimeoutMs:F0}ms)");
                retryable = true;
                code = 504;
            }
            else
            {
                string clientSpanId = NewSpanId();
                var server = Execute(
                    callerIdx,
                    target,
                    operation,
                    spec,
                    t + network / 2,
                    traceId,
                    clientSpanId,
                    callerSpanId
                );
                if (server.DurationMs + network > call.TimeoutMs)
                {
                    last = new Outcome(
                        call.TimeoutMs,
                        true,
                        $"context deadline exceeded (timeout {call.TimeoutMs:F0}ms)"
                    );
                    retryable = true;
                    code = 504;
                }
                else
                {
                    last = new Outcome(server.DurationMs + network, server.Failed, server.Reason, server.WrongValue);
                    retryable = false;
                    code = server.Failed ? 500 : 200;
                }
                Record(callerIdx, targetIdx, code, last.DurationMs);
                Trip(breaker, caller, target, code, t + last.DurationMs);
                ClientSpan(
                    t,
                    caller,
                    traceId,
                    clientSpanId,
                    callerSpanId,
                    operation,
                    target,
                    last.DurationMs,
                    last.Failed
                );
                t += last.DurationMs;
                total += last.DurationMs;
                if (!last.Failed || !retryable)
                    return last with { DurationMs = total };
                continue;
            }
            Record(callerIdx, targetIdx, code, last.DurationMs);
            Trip(breaker, caller, target, code, t + last.DurationMs);
            ClientSpan(t, caller, traceId, NewSpanId(), callerSpanId, operation, target, last.DurationMs, true);
            t += last.DurationMs;
            total += last.DurationMs;
            if (!retryable)
                break;
        }
        return last with { DurationMs = total };
    }

    private void ClientSpan(
        double t,
        string caller,
        string traceId,
        string spanId,
        string parentSpanId,
        string operation,
        string target,
        double durationMs,
        bool failed
    )
    {
        if (_options.ClientSpans)
            _out.Add(
                new SpanRecord(
                    (long)t,
                    _options.Cluster,
                    caller,
                    traceId,
                    spanId,
                    parentSpanId,
                    operation,
                    SpanKind.Client,
                    target,
                    durationMs,
                    failed && _options.SpanStatus
                )
            );
    }

    /// <summary>
    /// Latency bursts of the jittery services (<see cref="SimulationOptions.JitteryServiceShare"/>), drawn from a
    /// random stream of their own so that the traffic is drawn as without them.
    /// </summary>
    private sealed class LatencyWeather
    {
        private const double BurstsPerSecond = 1.0 / 180;
        private readonly Random _rng;
        private readonly bool[] _jittery;
        private readonly long[] _burstUntil;
        private readonly double[] _burstFactor;

        public LatencyWeather(int services, SimulationOptions options)
        {
            _rng = new Random(options.Seed ^ 0x7a11e7);
            _jittery = Enumerable
                .Range(0, services)
                .Select(_ => _rng.NextDouble() < options.JitteryServiceShare)
                .ToArray();
            _burstUntil = new long[services];
            _burstFactor = new double[services];
        }

        /// <summary>The service's latency factor this second (called once per service and second, in time
        /// order).</summary>
        public double Factor(int service, long now)
        {
            if (!_jittery[service])
                return 1;
            if (now >= _burstUntil[service] && _rng.NextDouble() < BurstsPerSecond)
            {
                _burstUntil[service] = now + 10_000 + _rng.Next(30_000);
                _burstFactor[service] = 1.5 + 2.5 * _rng.NextDouble();
            }
            return now < _burstUntil[service] ? _burstFactor[service] : 1;
        }
    }

    /// <summary>Which services chatter, how often and how loud: drawn from the seed apart from the traffic's random
    /// stream.</summary>
    private static (double, LogSeverity, int)[] Chatter(int services, SimulationOptions options)
    {
        var rng = new Random(options.Seed ^ 0x0c4a77e5);
        return Enumerable
            .Range(0, services)
            .Select(_ =>
                rng.NextDouble() < options.NoisyServiceShare
                    ? (
                        0.05 + 0.6 * rng.NextDouble(),
                        rng.NextDouble() < 0.4 ? LogSeverity.Error : LogSeverity.Warn,
                        rng.Next(ChatterTemplates.Length)
                    )
                    : (0.0, LogSeverity.Info, 0)
            )
            .ToArray();
    }

    private void Record(int caller, int target, int code, double durationMs) =>
        _istio?.Record(IstioMetrics.Reporter.Source, caller, target, code, durationMs);

    private CircuitBreaker? BreakerFor(int caller, int target)
    {
        if (_breakerSpecs[target] is not { } spec)
            return null;
        int key = caller * _services.Length + target;
        if (!_breakers.TryGetValue(key, out var breaker))
            _breakers[key] = breaker = new CircuitBreaker(spec);
        return breaker;
    }

    /// <summary>
    /// Only gateway errors (connection failures, 503, timeouts) count, as with Istio's consecutiveGatewayErrors:
    /// a 500 passed up from deeper in the call tree must not eject every hop above the fault.
    /// </summary>
    private void Trip(CircuitBreaker? breaker, string caller, string target, int code, double timeMs)
    {
        if (breaker is null || !breaker.Report(code is 502 or 503 or 504, timeMs))
            return;
        Log(
            caller,
            (long)timeMs,
            LogSeverity.Warn,
            "outlier detection: "
                + $"ejecting {target} for {breaker.Spec.OpenMs / 1000:F0}s after "
                + $"{breaker.Spec.ConsecutiveFailures} consecutive failures"
        );
    }

    private void Scrape()
    {
        for (int i = 0; i < _services.Length; i++)
        {
            var spec = _specs[i];
            ref var s = ref _state[i];
            double intervalS = _options.ScrapeIntervalMs / 1000.0;
            _cpuSecondsTotal[i] += _cpuThisInterval[i] + (0.01 + s.ExtraCpuCores) * intervalS;
            _cpuThisInterval[i] = 0;
            if (s.Down)
                continue; // a dead pod is not scraped: the gap is the signal
            long ts = _now + _rng.Next(200);
            string svc = _services[i];
            _out.Add(
                new MetricSample(ts, _options.Cluster, svc, "container_cpu_usage_seconds_total", _cpuSecondsTotal[i])
            );
            _out.Add(
                new MetricSample(
                    ts,
                    _options.Cluster,
                    svc,
                    "container_memory_working_set_bytes",
                    s.MemoryMb * (0.97 + 0.06 * _rng.NextDouble()) * 1048576
                )
            );
            _out.Add(
                new MetricSample(ts, _options.Cluster, svc, "kube_pod_container_status_restarts_total", s.Restarts)
            );
            _istio?.Scrape(i, ts, _options.Cluster, _out);
        }
    }

    private void Log(
        string service,
        long ts,
        LogSeverity severity,
        string message,
        string? traceId = null,
        string? spanId = null
    ) => _out.Add(new LogRecord(ts, _options.Cluster, service, severity, message, traceId, spanId));

    private static string Sanitize(string operation) => new(operation.Where(char.IsLetterOrDigit).ToArray());

    private string NewTraceId() => $"{_rng.NextInt64():x16}{_rng.NextInt64():x16}";

    private string NewSpanId() => _rng.NextInt64().ToString("x16");

    private static string Guid(Random rng) =>
        new System.Guid(rng.NextInt64().ToString("x16") + rng.NextInt64().ToString("x16")).ToString();

    private double LogNormal(double median, double sigma) => median * Math.Exp(sigma * Gaussian());

    private int Poisson(double lambda)
    {
        if (lambda > 30)
            return Math.Max(0, (int)Math.Round(lambda + Math.Sqrt(lambda) * Gaussian()));
        double l = Math.Exp(-lambda),
            p = 1;
        int k = 0;
        do
        {
            k++;
            p *= _rng.NextDouble();
        } while (p > l);
        return k - 1;
    }

    private double Gaussian()
    {
        double u1 = 1 - _rng.NextDouble(),
            u2 = _rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private int PickWeighted(double[] weights)
    {
        double total = 0;
        foreach (var w in weights)
            total += w;
        double x = _rng.NextDouble() * total;
        for (int i = 0; i < weights.Length; i++)
        {
            x -= weights[i];
            if (x < 0)
                return i;
        }
        return weights.Length - 1;
    }
}
