using System.CommandLine;
using LogWhisperer.Cli.Configuration;
using LogWhisperer.Cli.Dashboard;
using LogWhisperer.Hosting;
using LogWhisperer.Kafka;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Commands;

/// <summary>`kafka-dev` (a local broker), `kafka-produce` (the simulator into Kafka), `engine` (the engine on
/// Kafka).</summary>
internal static class KafkaCommands
{
    /// <summary>kafka-dev and kafka-produce have no settings: they drain for at most this long on SIGTERM or
    /// Ctrl-C.</summary>
    private static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(30);

    private static Option<string> Bootstrap() =>
        new("--bootstrap", "-b") { Description = "Kafka bootstrap servers (host:port,…)", Required = true };

    private static Option<string[]> KafkaConfig() =>
        new("--kafka-config", "-X")
        {
            Description =
                "librdkafka property key=value, repeatable (security.protocol, "
                + "sasl.mechanism, sasl.username, ssl.ca.location, …)",
            AllowMultipleArgumentsPerToken = false,
        };

    public static Command Dev()
    {
        var brokers = new Option<int>("--brokers")
        {
            Description = "Number of mock brokers",
            DefaultValueFactory = _ => 3,
        }.AtLeast(1);
        var partitions = new Option<int>("--partitions")
        {
            Description =
                "Partitions of the default input topics (each mock partition keeps only its newest 5 MiB: "
                + "more partitions hold a longer backlog)",
            DefaultValueFactory = _ => 16,
        };
        var command = new Command(
            "kafka-dev",
            "Start librdkafka's in-process mock Kafka cluster and print its bootstrap address (Ctrl-C stops it; "
                + "data lives in memory)"
        )
        {
            brokers,
            partitions,
        };
        command.SetAction(
            (parse, _) =>
                CliSupport.Service(
                    DefaultShutdownTimeout,
                    async life =>
                    {
                        using var cluster = new MockKafkaCluster(parse.GetValue(brokers));
                        foreach (var topic in KafkaSettings.DefaultInputTopics.Keys)
                            cluster.CreateTopic(topic, parse.GetValue(partitions));
                        Console.WriteLine(cluster.BootstrapServers);
                        Console.Error.WriteLine(
                            $"mock Kafka cluster with {parse.GetValue(brokers)} broker(s) "
                                + $"at {cluster.BootstrapServers}; topics are created on first use. Ctrl-C to stop."
                        );
                        try
                        {
                            await Task.Delay(Timeout.Infinite, life.Stop);
                        }
                        catch (OperationCanceledException) { }
                        return ExitCodes.Ok;
                    }
                )
        );
        return command;
    }

    public static Command Produce()
    {
        var bootstrap = Bootstrap();
        var config = KafkaConfig();
        var topology = CliSupport.TopologyOption();
        var seed = CliSupport.SeedOption(7);
        var kind = new Option<FaultKind?>("--fault") { Description = "Fault to inject (default: chosen by the seed)" };
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
        var logs = new Option<string>("--logs-topic")
        {
            DefaultValueFactory = _ => DefaultTopics.LokiProto,
            Description = "Topic for logs (Loki protobuf push)",
        };
        var metrics = new Option<string>("--metrics-topic")
        {
            DefaultValueFactory = _ => DefaultTopics.RemoteWrite,
            Description = "Topic for metrics (remote-write)",
        };
        var spans = new Option<string>("--spans-topic")
        {
            DefaultValueFactory = _ => DefaultTopics.OtlpTracesProto,
            Description = "Topic for spans (OTLP protobuf)",
        };
        var keyBy = new Option<KafkaTelemetryProducer.Keying>("--key-by")
        {
            Description =
                "Message key: cluster (engines of a group share clusters) "
                + "or service (cluster/service: one mesh over all partitions, for a single engine)",
            DefaultValueFactory = _ => KafkaTelemetryProducer.Keying.Cluster,
        };
        var from = new Option<string?>("--from")
        {
            Description =
                "Instead of simulating, write what `chaos run --out DIR` recorded (loki.jsonl, "
                + "otlp.jsonl, metrics/*.prom) into the same topics and formats",
        };
        var command = new Command(
            "kafka-produce",
            "Simulate a mesh with a fault and write its telemetry into Kafka in the real formats (Loki push, "
                + "remote-write, OTLP)"
        )
        {
            bootstrap,
            config,
            topology,
            seed,
            kind,
            service,
            warmup,
            duration,
            speed,
            logs,
            metrics,
            spans,
            keyBy,
            from,
        };
        command.SetAction(
            (parse, _) =>
                CliSupport.Guard(async () =>
                {
                    var settings = new KafkaSettings
                    {
                        BootstrapServers = parse.GetValue(bootstrap)!,
                        ClientConfig = KafkaSettings.ParseProperties(parse.GetValue(config) ?? []),
                    };
                    string[] topics = [parse.GetValue(logs)!, parse.GetValue(metrics)!, parse.GetValue(spans)!];
                    using var loggers = EngineLogging.Create(new ConfigurationBuilder().Build());
                    var log = loggers.CreateLogger<KafkaTelemetryProducer>();
                    if (parse.GetValue(from) is { } recorded)
                    {
                        using var fromFiles = new KafkaTelemetryProducer(
                            settings,
                            new(topics[0], topics[1], topics[2]),
                            parse.GetValue(keyBy),
                            log
                        );
                        long count = 0;
                        foreach (var batch in Export.RecordedTelemetry.Read(recorded))
                        {
                            fromFiles.Produce(batch);
                            count += batch.Count;
                        }
                        fromFiles.Flush();
                        Console.Error.WriteLine(
                            $"{count:N0} recorded record(s) from {recorded} in {fromFiles.Messages:N0} message(s) "
                                + $"written to {settings.BootstrapServers}"
                        );
                        foreach (var warning in RetentionCheck.Warnings(RetentionCheck.Dropped(settings, topics)))
                            Console.Error.WriteLine(warning);
                        return ExitCodes.Ok;
                    }
                    var topo = CliSupport.LoadTopology(parse.GetValue(topology)!);
                    var sim = new SimulationOptions { Cluster = topo.Name, Seed = parse.GetValue(seed) };
                    var rng = new Random(parse.GetValue(seed));
                    var faultKind =
                        parse.GetValue(kind) ?? IncidentPlan.AllKinds[rng.Next(IncidentPlan.AllKinds.Length)];
                    var faultService = parse.GetValue(service) ?? topo.ServiceNames[rng.Next(topo.ServiceNames.Count)];
                    long onset = sim.StartMs + parse.GetValue(warmup) * 60_000L;
                    var fault = new Fault(
                        faultService,
                        faultKind,
                        onset,
                        onset + parse.GetValue(duration) * 60_000L,
                        0.7
                    );
                    Console.Error.WriteLine(
                        $"injecting {fault.Kind} into {fault.Service} at +{parse.GetValue(warmup)} "
                            + $"min for {parse.GetValue(duration)} min (seed {sim.Seed})"
                    );
                    using var producer = new KafkaTelemetryProducer(
                        settings,
                        new(topics[0], topics[1], topics[2]),
                        parse.GetValue(keyBy),
                        log
                    );
                    return await Hosting.ServiceHost.RunAsync(
                        DefaultShutdownTimeout,
                        async life =>
                        {
                            long records = 0;
                            var source = new Sources.SimulatorSource(
                                new ChaosSimulator(topo, sim, [fault]),
                                fault.EndMs + 60_000,
                                parse.GetValue(speed)
                            );
                            try
                            {
                                await foreach (var batch in source.ReadAsync(life.Stop))
                                {
                                    producer.Produce(batch);
                                    records += batch.Count;
                                }
                            }
                            catch (OperationCanceledException) { }
                            producer.Flush();
                            Console.Error.WriteLine(
                                $"{records:N0} record(s) in {producer.Messages:N0} message(s) "
                                    + $"written to {settings.BootstrapServers}"
                            );
                            foreach (var warning in RetentionCheck.Warnings(RetentionCheck.Dropped(settings, topics)))
                                Console.Error.WriteLine(warning);
                            return ExitCodes.Ok;
                        }
                    );
                })
        );
        return command;
    }

    public static Command Engine()
    {
        // Every option is an override of a setting (see Configuration/ and `logwhisperer config reference`).
        var settingsOptions = SettingsOptions.For(CliCommands.Engine);
        var command = new Command(
            "engine",
            "Run the engine on Kafka: telemetry topics in, RCA events (CloudEvents) out, incidents to alert routers"
        );
        settingsOptions.AddTo(command);
        command.SetAction(
            (parse, _) =>
                CliSupport.Guard(async () =>
                {
                    var (config, configuration) = settingsOptions.Load(parse);
                    var settings = config.Kafka.ToKafkaSettings();
                    var pipelineOptions = config.ToPipelineOptions();
                    var connectTimeout = config.Kafka.ConnectTimeout();
                    return await Hosting.ServiceHost.RunAsync(
                        config.Host.ShutdownTimeout(),
                        async life =>
                        {
                            using var loggers = EngineLogging.Create(configuration);
                            EngineLogging.LogSettings(
                                loggers.CreateLogger("LogWhisperer.Settings"),
                                config,
                                "Kafka",
                                "Engine",
                                "Windows",
                                "Sinks",
                                "Host"
                            );
                            var err = Console.Error;
                            using var kafka = new KafkaConnectivity(settings);
                            await WaitForKafka(kafka, connectTimeout, err, life.Stop);
                            if (life.Stop.IsCancellationRequested)
                                return ExitCodes.Ok;
                            kafka.StartProbing(TimeSpan.FromSeconds(5));
                            var inputTopics =
                                config.Engine.Stage == EngineStage.Score
                                    ? [settings.ServiceWindowsTopic]
                                    : settings.InputTopics.Keys;
                            foreach (
                                var warning in RetentionCheck.Warnings(
                                    RetentionCheck.DroppedUnread(settings, inputTopics)
                                )
                            )
                                err.WriteLine(warning);
                            if (config.Engine.Stage == EngineStage.Window)
                                return await RunWindowStage(settings, config, pipelineOptions, loggers, life);
                            using var alerts = config.Sinks.BuildAlertSinks(loggers, config.Incidents);
                            using var metrics = new EngineMetrics();
                            using var otlp = Observability.EngineTelemetry.StartOtlp(metrics);
                            var readiness = new Hosting.Readiness()
                                .Require(
                                    "kafka",
                                    () =>
                                        kafka.Reachable
                                            ? null
                                            : $"cannot reach {settings.BootstrapServers} ({kafka.LastError})"
                                )
                                // loaded before the server starts; a model that fails to load stops the engine
                                .Require("model", () => null)
                                .Require(
                                    "consumer",
                                    () =>
                                        config.Engine.Stage == EngineStage.Score || metrics.AssignedPartitions >= 0
                                            ? null
                                            : "not yet assigned partitions by the group"
                                );
                            var scorer = CliSupport.LoadScorer(
                                config.Engine.Model ?? CliSupport.DefaultModelPath,
                                config.Engine.Device.ToString().ToLowerInvariant()
                            );
                            err.WriteLine(
                                $"LogWhisperer engine: {string.Join(", ", settings.InputTopics.Select(t => $"{t.Key} ({t.Value})"))} → {settings.OutputTopic}, group {settings.GroupId}"
                            );
                            pipelineOptions = pipelineOptions with { Metrics = metrics };
                            var feed = new DashboardFeed();
                            await using var web = await DashboardCli.StartAsync(
                                config.Dashboard.Http,
                                config.Dashboard.BearerToken,
                                feed,
                                metrics,
                                err,
                                config.Dashboard.TlsCertificatePath,
                                config.Dashboard.TlsKeyPath,
                                alerts,
                                readiness
                            );
                            var alsoTo = new List<IRcaSink>();
                            if (config.Engine.Print)
                                alsoTo.Add(new JsonLinesRcaSink(Console.Out));
                            if (web is not null)
                                alsoTo.Add(feed);
                            // Verdict feedback from its topic, beside the console's POST /api/incidents/{id}/feedback.
                            using var feedbackDeadLetters = new KafkaDeadLetterSink(
                                settings,
                                loggers.CreateLogger("LogWhisperer.Kafka")
                            );
                            var feedbackConsumer = new KafkaFeedbackConsumer(
                                settings,
                                config.Incidents.FeedbackTopic,
                                f => alerts.GiveFeedback(f, DateTimeOffset.UtcNow) is not null,
                                feedbackDeadLetters,
                                loggers.CreateLogger("LogWhisperer.Feedback")
                            );
                            using var stopFeedback = CancellationTokenSource.CreateLinkedTokenSource(life.Stop);
                            var feedbackTask = feedbackConsumer.RunAsync(stopFeedback.Token);
                            async Task EndFeedback()
                            {
                                await stopFeedback.CancelAsync();
                                try
                                {
                                    await feedbackTask;
                                }
                                catch (Confluent.Kafka.KafkaException e)
                                {
                                    err.WriteLine($"feedback : consumer failed: {e.Error.Reason}");
                                }
                                err.WriteLine(
                                    $"feedback : {feedbackConsumer.Applied} applied, "
                                        + $"{feedbackConsumer.Rejected} rejected (dead-lettered) "
                                        + $"from {config.Incidents.FeedbackTopic}"
                                );
                            }
                            if (config.Engine.Stage == EngineStage.Score)
                            {
                                err.WriteLine(
                                    $"  scoring stage: {settings.ServiceWindowsTopic} → {settings.OutputTopic}"
                                );
                                var scored = await KafkaTwoStageRun.RunScoreStageAsync(
                                    settings,
                                    pipelineOptions,
                                    scorer,
                                    config.Engine.ToAssemblyOptions(),
                                    life.Stop,
                                    life.Abort,
                                    sink =>
                                        alerts.After(alsoTo.Count == 0 ? sink : new FanOutRcaSink([sink, .. alsoTo])),
                                    loggers
                                );
                                var a = scored.Assembly;
                                err.WriteLine(
                                    $"parts    : {a.Parts:N0} read, {scored.Parts.Undecodable} undecodable, "
                                        + $"{a.Duplicates} duplicate(s), {a.LateDropped} late-dropped"
                                );
                                err.WriteLine(
                                    $"windows  : {a.Windows:N0} ({a.ClosedComplete} complete, "
                                        + $"{a.ClosedByWatermark} by the watermark, "
                                        + $"{a.ClosedByTimeout} by the timeout, {a.ClosedAtEnd} at the end)"
                                );
                                err.WriteLine(
                                    $"events   : {scored.EventsPublished} published, "
                                        + $"{scored.EventsAlreadyPublished} already "
                                        + "published before a restart or rebalance, "
                                        + $"{scored.Rebalances} rebalance(s)"
                                );
                                foreach (var line in alerts.Summary())
                                    err.WriteLine($"alerts   : {line}");
                                foreach (var stage in scored.Pipeline.Stages)
                                    err.WriteLine($"  {stage}");
                                await EndFeedback();
                                return ExitCodes.Ok;
                            }
                            var result = await KafkaRun.RunAsync(
                                settings,
                                config.Engine.ToDecodeOptions(),
                                pipelineOptions,
                                scorer,
                                life.Stop,
                                life.Abort,
                                sink => alerts.After(alsoTo.Count == 0 ? sink : new FanOutRcaSink([sink, .. alsoTo])),
                                alerts.OnScored(web is null ? null : feed.OnScored),
                                loggers
                            );
                            err.WriteLine(result.Ingest.ToString());
                            err.WriteLine(
                                $"events   : {result.EventsPublished} published, "
                                    + $"{result.EventsAlreadyPublished} already "
                                    + "published before a restart or rebalance, "
                                    + $"{result.Pipeline.Counters.QuietWindows} quiet window(s), "
                                    + $"{result.Rebalances} rebalance(s)"
                            );
                            err.WriteLine(
                                $"records  : {result.Pipeline.Decode.RecordsIn:N0} in, "
                                    + $"{result.Pipeline.Counters.Invalid} invalid, "
                                    + $"{result.Pipeline.Counters.LateAccepted} late-accepted, "
                                    + $"{result.Pipeline.Counters.LateDropped} late-dropped, "
                                    + $"{result.DeadLetters} dead-lettered"
                                    + (result.DeadLettersByCode.Length > 0 ? $" ({result.DeadLettersByCode})" : "")
                            );
                            foreach (var line in alerts.Summary())
                                err.WriteLine($"alerts   : {line}");
                            foreach (var stage in result.Pipeline.Stages)
                                err.WriteLine($"  {stage}");
                            await EndFeedback();
                            return ExitCodes.Ok;
                        }
                    );
                })
        );
        return command;
    }

    /// <summary>
    /// At start, a broker that does not answer is retried with backoff (one line per try) until the deadline;
    /// then the engine stops with exit code 3 and one line, never a stack trace.
    /// </summary>
    private static async Task WaitForKafka(
        KafkaConnectivity kafka,
        TimeSpan deadline,
        TextWriter err,
        CancellationToken stop
    )
    {
        bool reachable;
        try
        {
            reachable = await kafka.WaitUntilReachableAsync(
                deadline,
                (reason, wait) =>
                    err.WriteLine(
                        $"kafka: cannot reach {kafka.BootstrapServers} ({reason}); retrying in {wait.TotalSeconds:0} s"
                    ),
                stop
            );
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return;
        }
        if (!reachable)
            throw new DependencyUnavailableException(
                $"Kafka at {kafka.BootstrapServers} unreachable for {deadline.TotalSeconds:0} s ({kafka.LastError}); "
                    + "check --bootstrap (Kafka:BootstrapServers) "
                    + "or wait longer with --connect-timeout (Kafka:ConnectTimeoutSeconds)"
            );
    }

    /// <summary>The window stage of the two-stage topology: no model, no sinks, parts to the service-windows
    /// topic.</summary>
    private static async Task<int> RunWindowStage(
        KafkaSettings settings,
        LogWhispererSettings config,
        PipelineOptions options,
        Microsoft.Extensions.Logging.ILoggerFactory loggers,
        Hosting.ServiceLifetime life
    )
    {
        var err = Console.Error;
        err.WriteLine(
            $"LogWhisperer engine, window stage: {string.Join(", ", settings.InputTopics.Select(t => $"{t.Key} ({t.Value})"))} → {settings.ServiceWindowsTopic}, group {settings.GroupId}"
        );
        var result = await KafkaTwoStageRun.RunWindowStageAsync(
            settings,
            config.Engine.ToDecodeOptions(),
            options,
            life.Stop,
            life.Abort,
            loggers
        );
        err.WriteLine(result.Ingest.ToString());
        err.WriteLine($"parts    : {result.PartsWritten:N0} written, {result.Rebalances} rebalance(s)");
        err.WriteLine(
            $"records  : {result.Pipeline.Decode.RecordsIn:N0} in, {result.Pipeline.Counters.Invalid} invalid, "
                + $"{result.Pipeline.Counters.LateDropped} late-dropped, {result.DeadLetters} dead-lettered"
        );
        foreach (var stage in result.Pipeline.Stages.Take(2))
            err.WriteLine($"  {stage}");
        return 0;
    }
}
