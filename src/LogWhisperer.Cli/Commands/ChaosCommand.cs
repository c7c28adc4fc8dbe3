using System.CommandLine;
using LogWhisperer.Export;
using LogWhisperer.Simulation;

namespace LogWhisperer.Cli.Commands;

/// <summary>
/// The chaos simulator as a tool: `chaos run` records labelled telemetry of a mesh with incidents to files in
/// the real wire formats; `chaos topology` generates a synthetic mesh of N services as an editable file.
/// </summary>
internal static class ChaosCommand
{
    public static Command Create() =>
        new(
            "chaos",
            "Simulate a mesh with incidents and record its telemetry (Loki, Prometheus, OTLP) with ground truth"
        )
        {
            RunCommand(),
            TopologyCommand(),
        };

    private static Command RunCommand()
    {
        var topology = CliSupport.TopologyOption();
        var services = new Option<int?>("--services")
        {
            Description = "Simulate a generated mesh of this many services instead of --topology",
        };
        var minutes = new Option<int>("--minutes")
        {
            Description = "Simulated minutes",
            DefaultValueFactory = _ => 30,
        }.AtLeast(1);
        var incidents = new Option<int>("--incidents")
        {
            Description = "Incidents to inject (after a 5-minute fault-free warm-up, with quiet gaps between)",
            DefaultValueFactory = _ => 3,
        }.AtLeast(0);
        var concurrent = new Option<double>("--concurrent")
        {
            Description = "Share of incidents joined by a second, simultaneous fault elsewhere (0..1)",
            DefaultValueFactory = _ => 0,
        }.Within(0, 1);
        var kinds = new Option<FaultKind[]>("--kinds")
        {
            Description = $"Fault kinds to draw from (default all: {string.Join(", ", Enum.GetNames<FaultKind>())})",
            AllowMultipleArgumentsPerToken = true,
        };
        var rps = new Option<double?>("--rps")
        {
            Description = "Mean requests per second at the edge (default: the topology's)",
        };
        var noIstio = new Option<bool>("--no-istio")
        {
            Description =
                "Leave out the Istio request metrics (istio_requests_total, istio_request_duration_milliseconds)",
        };
        var seed = CliSupport.SeedOption(1);
        var output = new Option<string>("--out", "-o")
        {
            Description =
                "Directory to write loki.jsonl, otlp.jsonl, metrics/*.prom, ground_truth.jsonl and topology.json into",
            Required = true,
        };
        var layout = new Option<string>("--layout")
        {
            Description =
                "wire: the real wire formats (Loki, Prometheus, OTLP); wide-csv: a metrics-only export (metrics.csv, edges/*.csv, topology.csv, changes.jsonl, faults.json) that datasets/chaos-wide.json replays",
            DefaultValueFactory = _ => "wire",
        };
        layout.AcceptOnlyFromAmong("wire", "wide-csv");

        var command = new Command(
            "run",
            "Simulate a mesh with incidents and write its telemetry and ground truth to files"
        )
        {
            topology,
            services,
            minutes,
            incidents,
            concurrent,
            kinds,
            rps,
            noIstio,
            seed,
            output,
            layout,
        };
        command.SetAction(
            (parse, cancellation) =>
                CliSupport.Guard(async () =>
                {
                    int seedValue = parse.GetValue(seed);
                    var topo = parse.GetValue(services) is { } n
                        ? SyntheticTopology.Generate(n, seedValue, parse.GetValue(rps) ?? 200, new CircuitBreakerSpec())
                        : CliSupport.LoadTopology(parse.GetValue(topology)!);
                    int mins = parse.GetValue(minutes),
                        count = parse.GetValue(incidents);
                    double share = parse.GetValue(concurrent);
                    if (mins <= 0)
                        throw new ArgumentException("--minutes must be positive");
                    if (count < 0)
                        throw new ArgumentException("--incidents cannot be negative");
                    if (share is < 0 or > 1)
                        throw new ArgumentException("--concurrent is a share between 0 and 1");
                    double loadFactor =
                        parse.GetValue(rps) is { } r && parse.GetValue(services) is null
                            ? r / topo.RequestsPerSecond
                            : 1;
                    if (!(loadFactor > 0))
                        throw new ArgumentException("--rps must be positive");
                    var sim = new SimulationOptions
                    {
                        Cluster = topo.Name,
                        Seed = seedValue,
                        LoadFactor = loadFactor,
                        IstioMetrics = !parse.GetValue(noIstio),
                    };
                    long end = sim.StartMs + mins * 60_000L;
                    var faults = Plan(topo, count, seedValue, sim.StartMs, end, share, parse.GetValue(kinds));

                    var err = Console.Error;
                    err.WriteLine(
                        $"chaos: {topo.Name} ({topo.Services.Count} services), {mins} simulated min, {faults.Count} fault(s), seed {seedValue}"
                    );
                    foreach (var f in faults)
                        err.WriteLine(
                            $"  {f.Kind, -14} on {f.Service} +{(f.StartMs - sim.StartMs) / 1000 / 60.0:0.0}–{(f.EndMs - sim.StartMs) / 1000 / 60.0:0.0} min, intensity {f.Intensity:0.00}"
                        );
                    var dir = parse.GetValue(output)!;
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var rec = await ConsoleOutput.WithProgressAsync(
                        $"chaos: recording {mins} simulated min",
                        async lines =>
                        {
                            var minutes = ConsoleOutput.Lines<RecordingProgress>(
                                lines,
                                p =>
                                    FormattableString.Invariant(
                                        $"[{p.SimulatedMs / 60_000}/{p.TotalMs / 60_000} min, {clock.Elapsed.TotalSeconds:0} s] {p.Records:N0} records"
                                    )
                            );
                            return parse.GetValue(layout) == "wide-csv"
                                ? await WideCsvRecorder.RecordAsync(
                                    topo,
                                    sim,
                                    faults,
                                    end,
                                    dir,
                                    cancellationToken: cancellation,
                                    progress: minutes
                                )
                                : await ChaosRecorder.RecordToDirectoryAsync(
                                    topo,
                                    sim,
                                    faults,
                                    end,
                                    dir,
                                    cancellation,
                                    minutes
                                );
                        }
                    );
                    Console.WriteLine(
                        FormattableString.Invariant(
                            $"chaos: {rec.Records:N0} records ({rec.Logs:N0} log lines, {rec.Metrics:N0} metric samples, {rec.Spans:N0} spans), {rec.Bytes / 1048576.0:N1} MiB, {rec.Faults.Count} incident fault(s) and {rec.BenignEvents.Count} benign event(s) in {rec.Elapsed.TotalSeconds:0.0} s = {rec.RecordsPerSecond:N0} records/s, {rec.TimesRealTime:0.0}x real time -> {dir}"
                        )
                    );
                    return 0;
                })
        );
        return command;
    }

    /// <summary>Fits the incidents into the run: each gets an equal slot after the warm-up, its fault lasting up to
    /// half of it.</summary>
    private static List<Fault> Plan(
        Topology topology,
        int incidents,
        int seed,
        long startMs,
        long endMs,
        double concurrent,
        FaultKind[]? kinds
    )
    {
        if (incidents == 0)
            return [];
        const long warmup = 5 * 60_000,
            tail = 60_000,
            jitter = 30_000;
        long slot = (endMs - startMs - warmup - tail) / incidents;
        if (slot < 90_000)
            throw new ArgumentException(
                $"{incidents} incident(s) need at least {(warmup + tail + incidents * 90_000L) / 60_000.0:0.#} simulated minutes"
            );
        long maxDuration = Math.Min(240_000, slot / 2),
            minDuration = Math.Min(120_000, maxDuration * 3 / 5);
        var plan = IncidentPlan.Create(
            topology,
            incidents,
            seed,
            startMs,
            warmup,
            gapMs: slot - maxDuration - jitter,
            (minDuration, maxDuration),
            kinds is { Length: > 0 } ? kinds : null,
            concurrent
        );
        // A concurrent fault may outlast the slot: keep only what the run covers.
        return plan.Where(f => f.StartMs < endMs - tail)
            .Select(f => f with { EndMs = Math.Min(f.EndMs, endMs) })
            .ToList();
    }

    private static Command TopologyCommand()
    {
        var services = new Option<int>("--services", "-n")
        {
            Description = "Number of services (3 to 20,000)",
            Required = true,
        };
        var seed = CliSupport.SeedOption(1);
        var rps = new Option<double>("--rps")
        {
            Description = "Mean requests per second at the edge",
            DefaultValueFactory = _ => 200,
        }.Within(0.001);
        var output = new Option<string?>("--out", "-o") { Description = "File to write (default: stdout)" };
        var command = new Command(
            "topology",
            "Generate a synthetic mesh of N services (gateway, tiers, shared databases, caches and queues) as a topology file"
        )
        {
            services,
            seed,
            rps,
            output,
        };
        command.SetAction(
            (parse, _) =>
                CliSupport.Guard(async () =>
                {
                    var topo = SyntheticTopology.Generate(
                        parse.GetValue(services),
                        parse.GetValue(seed),
                        parse.GetValue(rps),
                        new CircuitBreakerSpec()
                    );
                    var json = topo.ToJson();
                    if (parse.GetValue(output) is { } path)
                    {
                        await File.WriteAllTextAsync(path, json);
                        var edges = topo.DeclaredEdges().Count();
                        int stores = topo.Services.Values.Count(s =>
                            s.Kind is ServiceKind.Database or ServiceKind.Cache or ServiceKind.Queue
                        );
                        Console.Error.WriteLine(
                            $"{topo.Name}: {topo.Services.Count} services ({stores} databases, caches and queues), {topo.Services.Sum(s => s.Value.Operations.Count)} operations, {edges} call edges, {topo.Entrypoints.Count} edge routes -> {path}"
                        );
                    }
                    else
                        Console.Out.Write(json);
                    return 0;
                })
        );
        return command;
    }
}
