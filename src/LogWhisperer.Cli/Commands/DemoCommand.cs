using System.CommandLine;
using System.Diagnostics;
using LogWhisperer.Cli.Dashboard;
using LogWhisperer.Evaluation;
using LogWhisperer.Hosting;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;

namespace LogWhisperer.Cli.Commands;

/// <summary>
/// The embedded end-to-end run: simulator → every pipeline stage in-process → RCA events on stdout, with a
/// human summary on stderr comparing the verdict with the injected fault.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var topology = CliSupport.TopologyOption();
        var model = CliSupport.ModelOption();
        var device = CliSupport.DeviceOption();
        var seed = CliSupport.SeedOption(7);
        var kind = new Option<FaultKind?>("--fault")
        {
            Description =
                $"Fault to inject: {string.Join(", ", Enum.GetNames<FaultKind>())} (default: chosen by the seed among those the model names)",
        };
        var service = new Option<string?>("--service")
        {
            Description = "Service to inject it into (default: chosen by the seed)",
        };
        var warmup = new Option<int>("--warmup-minutes")
        {
            Description = "Normal traffic before the fault",
            DefaultValueFactory = _ => 6,
        }.AtLeast(1);
        var duration = new Option<int>("--fault-minutes")
        {
            Description = "How long the fault lasts",
            DefaultValueFactory = _ => 3,
        }.AtLeast(1);
        var speed = new Option<double>("--speed")
        {
            Description = "Event time per real time (0 = as fast as possible, 1 = live)",
            DefaultValueFactory = _ => 0,
        }.Within(0);
        var snapshots = new Option<string?>("--snapshots")
        {
            Description = "Write every graph snapshot as Arrow IPC files into this directory",
        };
        var http = DashboardCli.HttpOption();
        var httpToken = DashboardCli.TokenOption();

        var command = new Command(
            "demo",
            "Simulate a mesh, inject a fault, and watch the engine find it (all in-process)"
        )
        {
            topology,
            model,
            device,
            seed,
            kind,
            service,
            warmup,
            duration,
            speed,
            snapshots,
            http,
            httpToken,
        };
        // Alert routing, as in `engine`.
        var settingsOptions = Configuration.SettingsOptions.For(Configuration.CliCommands.Demo);
        settingsOptions.AddTo(command);
        command.SetAction(
            (parse, _) =>
                CliSupport.Guard(async () =>
                {
                    var (settings, configuration) = settingsOptions.Load(parse);
                    return await Hosting.ServiceHost.RunAsync(
                        Configuration.SettingsMapping.ShutdownTimeout(settings.Host),
                        life => Run(parse, settings, configuration, life)
                    );
                })
        );
        return command;

        async Task<int> Run(
            ParseResult parse,
            Configuration.LogWhispererSettings settings,
            Microsoft.Extensions.Configuration.IConfiguration configuration,
            Hosting.ServiceLifetime life
        )
        {
            using var loggers = Configuration.EngineLogging.Create(configuration);
            using var alerts = Configuration.SettingsMapping.BuildAlertSinks(
                settings.Sinks,
                loggers,
                settings.Incidents
            );
            var clock = Stopwatch.StartNew();
            var topo = CliSupport.LoadTopology(parse.GetValue(topology)!);
            var scorer = CliSupport.LoadScorer(parse.GetValue(model)!, parse.GetValue(device)!);
            var sim = new SimulationOptions { Cluster = topo.Name, Seed = parse.GetValue(seed) };
            var rng = new Random(parse.GetValue(seed));
            var known = CliSupport.KindsOf(scorer);
            var faultKind = parse.GetValue(kind) ?? known[rng.Next(known.Length)];
            var faultService = parse.GetValue(service) ?? topo.ServiceNames[rng.Next(topo.ServiceNames.Count)];
            if (!topo.Services.ContainsKey(faultService))
                throw new ArgumentException($"topology '{topo.Name}' has no service '{faultService}'");
            long onset = sim.StartMs + parse.GetValue(warmup) * 60_000L;
            var fault = new Fault(faultService, faultKind, onset, onset + parse.GetValue(duration) * 60_000L, 0.7);

            var err = Console.Error;
            err.WriteLine(
                $"LogWhisperer demo: {topo.Name} ({topo.Services.Count} services), "
                    + $"scoring on {Scoring.ComputeDevice.Describe(scorer.Device)}"
            );
            err.WriteLine(
                $"injecting {fault.Kind} into {fault.Service} at +{parse.GetValue(warmup)} "
                    + $"min for {parse.GetValue(duration)} min (seed {sim.Seed})"
            );

            using var metrics = new EngineMetrics();
            using var otlp = Observability.EngineTelemetry.StartOtlp(metrics);
            var feed = new DashboardFeed();
            await using var web = await DashboardCli.StartAsync(
                parse.GetValue(http),
                parse.GetValue(httpToken),
                feed,
                metrics,
                err,
                incidents: alerts
            );
            var collected = new CollectingRcaSink(
                web is null
                    ? new JsonLinesRcaSink(Console.Out)
                    : new FanOutRcaSink(new JsonLinesRcaSink(Console.Out), feed)
            );
            var deadLetters = new MemoryDeadLetterSink();
            var run = new SimulatedRun
            {
                Topology = topo,
                Faults = [fault],
                Simulation = sim,
                Speed = parse.GetValue(speed),
                EndMs = fault.EndMs + 120_000, // long enough after the fault for its incident to resolve
                Pipeline = new PipelineOptions
                {
                    SnapshotDirectory = parse.GetValue(snapshots),
                    Metrics = metrics,
                    Explainer = new Explain.ExplainerOptions
                    {
                        Slos = Configuration.SettingsMapping.ToObjectives(settings.Slo),
                    },
                },
            };
            RcaPipeline pipeline;
            await using (new Hosting.ProgressReporter(metrics, err))
                pipeline = await run.RunAsync(
                    scorer,
                    alerts.After(collected),
                    deadLetters,
                    stop: life.Stop,
                    abort: life.Abort,
                    onScored: alerts.OnScored(web is null ? null : feed.OnScored)
                );

            // not the resolution events
            var windowEvents = collected.Events.Where(e => e.Incident?.State != Explain.IncidentInfo.Resolved).ToList();
            var report = EvaluationReport.Score([fault], windowEvents, (int)pipeline.Counters.QuietWindows);
            var result = report.Incidents[0];
            err.WriteLine();
            err.WriteLine("── summary ─────────────────────────────────────────────");
            err.WriteLine(
                $"injected : {fault.Kind} on {fault.Service} "
                    + $"({DateTimeOffset.FromUnixTimeMilliseconds(fault.StartMs):HH:mm:ss}–{DateTimeOffset.FromUnixTimeMilliseconds(fault.EndMs):HH:mm:ss} "
                    + "event time)"
            );
            if (result.FirstEvent is { } first)
            {
                err.WriteLine(
                    $"detected : window {first.WindowStart:HH:mm:ss}–{first.WindowEnd:HH:mm:ss}, "
                        + $"rank 1 = {first.Candidates[0].Service} ({first.Candidates[0].Score:P0}), "
                        + $"fault guess {first.FaultType.Kind}"
                );
                err.WriteLine(
                    $"verdict  : {(result.Rank == 1 ? "correct — the injected service is ranked first" : result.Rank is { } r ? $"injected service ranked {r}" : "injected service not among the candidates")}"
                );
                err.WriteLine($"explained: {first.Explanation}");
            }
            else
                err.WriteLine("detected : no RCA event was emitted during the fault");
            var incidents = collected.Events.Where(e => e.Incident is not null).GroupBy(e => e.Incident!.Id).ToList();
            err.WriteLine(
                $"incidents: {incidents.Count} ({string.Join("; ", incidents.Select(g => $"{g.Key}: root {g.Last().Incident!.RootCause}, {g.Last().Incident!.Windows} window(s), {g.Last().Incident!.State}"))})"
            );
            err.WriteLine(
                $"events   : {windowEvents.Count} RCA event(s), {pipeline.Counters.QuietWindows} quiet window(s), "
                    + $"{pipeline.Counters.WarmupWindows} warm-up window(s), {report.FalseAlarms} false alarm(s)"
            );
            err.WriteLine(
                $"records  : {pipeline.Decode.RecordsIn:N0} in, {pipeline.Counters.Invalid} invalid, "
                    + $"{pipeline.Counters.LateAccepted} late-accepted, "
                    + $"{pipeline.Counters.LateDropped} late-dropped, {deadLetters.Total} dead-lettered"
            );
            foreach (var line in alerts.Summary())
                err.WriteLine($"alerts   : {line}");
            foreach (var stage in pipeline.Stages)
                err.WriteLine($"  {stage}");
            err.WriteLine($"finished in {clock.Elapsed.TotalSeconds:0.0} s");
            if (web is not null && !life.Stop.IsCancellationRequested)
            {
                // Whoever watches the dashboard decides when to close it.
                err.WriteLine("the dashboard stays up; Ctrl-C (or SIGTERM) to exit");
                try
                {
                    await Task.Delay(Timeout.Infinite, life.Stop);
                }
                catch (OperationCanceledException) { }
            }
            return result.Rank == 1 ? ExitCodes.Ok : ExitCodes.WrongVerdict;
        }
    }
}
