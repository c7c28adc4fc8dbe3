using System.CommandLine;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Runs;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;

namespace LogWhisperer.Cli.Commands;

/// <summary>`kafka-dev` (a local broker), `kafka-produce` (the simulator into Kafka), `engine` (the engine on Kafka).</summary>
internal static class KafkaCommands
{
    private static Option<string> Bootstrap() => new("--bootstrap", "-b") { Description = "Kafka bootstrap servers (host:port,…)", Required = true };

    private static Option<string[]> KafkaConfig() => new("--kafka-config", "-X")
    {
        Description = "librdkafka property key=value, repeatable (security.protocol, sasl.mechanism, sasl.username, ssl.ca.location, …)",
        AllowMultipleArgumentsPerToken = false,
    };

    public static Command Dev()
    {
        var brokers = new Option<int>("--brokers") { Description = "Number of mock brokers", DefaultValueFactory = _ => 3 };
        var command = new Command("kafka-dev", "Start librdkafka's in-process mock Kafka cluster and print its bootstrap address (Ctrl-C stops it; data lives in memory)") { brokers };
        command.SetAction(async (parse, ct) =>
        {
            using var cluster = new MockKafkaCluster(parse.GetValue(brokers));
            Console.WriteLine(cluster.BootstrapServers);
            Console.Error.WriteLine($"mock Kafka cluster with {parse.GetValue(brokers)} broker(s) at {cluster.BootstrapServers}; topics are created on first use. Ctrl-C to stop.");
            var done = new TaskCompletionSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; done.TrySetResult(); };
            await Task.WhenAny(done.Task, Task.Delay(Timeout.Infinite, ct));
            return 0;
        });
        return command;
    }

    public static Command Produce()
    {
        var bootstrap = Bootstrap();
        var config = KafkaConfig();
        var topology = CliSupport.TopologyOption();
        var seed = CliSupport.SeedOption(7);
        var kind = new Option<FaultKind?>("--fault") { Description = "Fault to inject (default: chosen by the seed)" };
        var service = new Option<string?>("--service") { Description = "Service to inject it into (default: chosen by the seed)" };
        var warmup = new Option<int>("--warmup-minutes") { Description = "Normal traffic before the fault", DefaultValueFactory = _ => 6 };
        var duration = new Option<int>("--fault-minutes") { Description = "How long the fault lasts", DefaultValueFactory = _ => 3 };
        var speed = new Option<double>("--speed") { Description = "Event time per real time (0 = as fast as possible, 1 = live)", DefaultValueFactory = _ => 0 };
        var logs = new Option<string>("--logs-topic") { DefaultValueFactory = _ => "loki_push", Description = "Topic for logs (Loki protobuf push)" };
        var metrics = new Option<string>("--metrics-topic") { DefaultValueFactory = _ => "prometheus_remote_write", Description = "Topic for metrics (remote-write)" };
        var spans = new Option<string>("--spans-topic") { DefaultValueFactory = _ => "otlp_spans", Description = "Topic for spans (OTLP protobuf)" };
        var keyBy = new Option<KafkaTelemetryProducer.Keying>("--key-by")
        {
            Description = "Message key: cluster (engines of a group share clusters) or service (cluster/service: one mesh over all partitions, for a single engine)",
            DefaultValueFactory = _ => KafkaTelemetryProducer.Keying.Cluster,
        };
        var command = new Command("kafka-produce", "Simulate a mesh with a fault and write its telemetry into Kafka in the real formats (Loki push, remote-write, OTLP)")
        {
            bootstrap, config, topology, seed, kind, service, warmup, duration, speed, logs, metrics, spans, keyBy,
        };
        command.SetAction((parse, _) => CliSupport.Guard(async () =>
        {
            var topo = CliSupport.LoadTopology(parse.GetValue(topology)!);
            var sim = new SimulationOptions { Cluster = topo.Name, Seed = parse.GetValue(seed) };
            var rng = new Random(parse.GetValue(seed));
            var faultKind = parse.GetValue(kind) ?? IncidentPlan.AllKinds[rng.Next(IncidentPlan.AllKinds.Length)];
            var faultService = parse.GetValue(service) ?? topo.ServiceNames[rng.Next(topo.ServiceNames.Count)];
            long onset = sim.StartMs + parse.GetValue(warmup) * 60_000L;
            var fault = new Fault(faultService, faultKind, onset, onset + parse.GetValue(duration) * 60_000L, 0.7);
            var settings = new KafkaSettings { BootstrapServers = parse.GetValue(bootstrap)!, ClientConfig = KafkaSettings.ParseProperties(parse.GetValue(config) ?? []) };
            Console.Error.WriteLine($"injecting {fault.Kind} into {fault.Service} at +{parse.GetValue(warmup)} min for {parse.GetValue(duration)} min (seed {sim.Seed})");
            using var producer = new KafkaTelemetryProducer(settings, new(parse.GetValue(logs)!, parse.GetValue(metrics)!, parse.GetValue(spans)!), parse.GetValue(keyBy));
            var (stop, _) = CliSupport.CtrlC(Console.Error);
            long records = 0;
            var source = new Sources.SimulatorSource(new ChaosSimulator(topo, sim, [fault]), fault.EndMs + 60_000, parse.GetValue(speed));
            try { await foreach (var batch in source.ReadAsync(stop.Token)) { producer.Produce(batch); records += batch.Count; } }
            catch (OperationCanceledException) { }
            producer.Flush();
            Console.Error.WriteLine($"{records:N0} record(s) in {producer.Messages:N0} message(s) written to {settings.BootstrapServers}");
            return 0;
        }));
        return command;
    }

    public static Command Engine()
    {
        var bootstrap = Bootstrap();
        var config = KafkaConfig();
        var group = new Option<string>("--group") { Description = "Consumer group id", DefaultValueFactory = _ => "logwhisperer" };
        var topics = new Option<string[]>("--topic") { Description = $"Input topic=format, repeatable (formats: {string.Join(", ", Enum.GetNames<TelemetryFormat>())}); default: {string.Join(", ", KafkaSettings.DefaultInputTopics.Select(t => $"{t.Key}={t.Value}"))}" };
        var output = new Option<string>("--output-topic") { Description = "Topic for RCA events (CloudEvents JSON, keyed by cluster)", DefaultValueFactory = _ => "logwhisperer_rca" };
        var deadLetters = new Option<string>("--dead-letter-topic") { Description = "Topic for undecodable input", DefaultValueFactory = _ => "logwhisperer_dead_letters" };
        var snapshots = new Option<string?>("--snapshots-topic") { Description = "Also publish every graph snapshot (Arrow IPC) here" };
        var cluster = new Option<string>("--cluster") { Description = "Cluster for records that carry no cluster label", DefaultValueFactory = _ => "default" };
        var serviceLabels = new Option<string[]>("--service-label") { Description = "Label naming a record's service, in order of preference, repeatable (default: service_name, service.name, app, …)" };
        var idle = new Option<double?>("--idle-exit") { Description = "Stop after this many seconds with all input read (batch runs)" };
        var lag = new Option<double>("--commit-lag-minutes") { Description = "Keep this much event time uncommitted, to rebuild baselines exactly after a restart or rebalance (at least the baseline history: 40 windows = 20 min)", DefaultValueFactory = _ => 0 };
        var print = new Option<bool>("--print") { Description = "Also print RCA events as JSON lines on stdout" };
        var model = CliSupport.ModelOption();
        var device = CliSupport.DeviceOption();
        var command = new Command("engine", "Run the engine on Kafka: telemetry topics in, RCA events (CloudEvents) out")
        {
            bootstrap, config, group, topics, output, deadLetters, snapshots, cluster, serviceLabels, idle, lag, print, model, device,
        };
        command.SetAction((parse, _) => CliSupport.Guard(async () =>
        {
            var scorer = CliSupport.LoadScorer(parse.GetValue(model)!, parse.GetValue(device)!);
            var topicPairs = parse.GetValue(topics) ?? [];
            var settings = new KafkaSettings
            {
                BootstrapServers = parse.GetValue(bootstrap)!,
                GroupId = parse.GetValue(group)!,
                InputTopics = topicPairs.Length == 0 ? KafkaSettings.DefaultInputTopics : KafkaSettings.ParseTopics(topicPairs),
                OutputTopic = parse.GetValue(output)!,
                DeadLetterTopic = parse.GetValue(deadLetters)!,
                SnapshotsTopic = parse.GetValue(snapshots),
                ClientConfig = KafkaSettings.ParseProperties(parse.GetValue(config) ?? []),
                StopWhenIdle = parse.GetValue(idle) is { } s ? TimeSpan.FromSeconds(s) : null,
                CommitLag = TimeSpan.FromMinutes(parse.GetValue(lag)),
            };
            var labels = parse.GetValue(serviceLabels) ?? [];
            var decode = new DecodeOptions { DefaultCluster = parse.GetValue(cluster)! };
            if (labels.Length > 0) decode = decode with { ServiceLabels = labels };
            var err = Console.Error;
            err.WriteLine($"LogWhisperer engine: {string.Join(", ", settings.InputTopics.Select(t => $"{t.Key} ({t.Value})"))} → {settings.OutputTopic}, group {settings.GroupId}");
            var (stop, abort) = CliSupport.CtrlC(err);
            var result = await KafkaRun.RunAsync(settings, decode, new PipelineOptions(), scorer, stop.Token, abort.Token,
                parse.GetValue(print) ? sink => new TeeSink(sink, new JsonLinesRcaSink(Console.Out)) : null);
            err.WriteLine(result.Ingest.ToString());
            err.WriteLine($"events   : {result.EventsPublished} published, {result.EventsAlreadyPublished} already published before a restart or rebalance, {result.Pipeline.Counters.QuietWindows} quiet window(s), {result.Rebalances} rebalance(s)");
            err.WriteLine($"records  : {result.Pipeline.Decode.RecordsIn:N0} in, {result.Pipeline.Counters.Invalid} invalid, {result.Pipeline.Counters.LateDropped} late-dropped, {result.DeadLetters} dead-lettered");
            foreach (var stage in result.Pipeline.Stages) err.WriteLine($"  {stage}");
            return 0;
        }));
        return command;
    }

    private sealed class TeeSink(IRcaSink first, IRcaSink second) : IRcaSink
    {
        public async ValueTask WriteAsync(Explain.RcaEvent rca, CancellationToken cancellationToken)
        {
            await first.WriteAsync(rca, cancellationToken);
            await second.WriteAsync(rca, cancellationToken);
        }
    }
}
