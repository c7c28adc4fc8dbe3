using System.Text.Json;
using System.Text.RegularExpressions;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Features;
using LogWhisperer.Kafka;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using YamlDotNet.Serialization;

namespace LogWhisperer.Tests;

/// <summary>
/// docker/ cannot be started here (no docker engine), so everything that can be checked without it is:
/// compose services, ports and referenced files; the collector writing the topics and encodings the engine
/// reads; Prometheus' config (promtool); Grafana's datasources and that every PromQL expression of the
/// dashboard names a metric the engine exposes and parses (promtool).
/// </summary>
[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public class DockerComposeTests
{
    private static readonly string Docker = Path.Combine(TestData.RepoRoot, "docker");

    private static Dictionary<string, object> Yaml(string relativePath) =>
        new DeserializerBuilder()
            .Build()
            .Deserialize<Dictionary<string, object>>(File.ReadAllText(Path.Combine(Docker, relativePath)));

    private static Dictionary<object, object> Map(object o) => Assert.IsType<Dictionary<object, object>>(o);

    private static List<object> List(object o) => Assert.IsType<List<object>>(o);

    private static Dictionary<object, object> Services => Map(Yaml("compose.yaml")["services"]);

    [Fact]
    public void ComposeHasTheStackWithLoopbackPortsAndExistingFiles()
    {
        var services = Services;
        Assert.Equal(
            ["engine", "gateway", "grafana", "kafka", "loki", "otel-collector", "prometheus", "simulator"],
            services.Keys.Cast<string>().Order()
        );
        var hostPorts = new List<string>();
        foreach (var (name, value) in services)
        {
            var service = Map(value);
            Assert.True(
                service.ContainsKey("image") || service.ContainsKey("build"),
                $"{name} has neither image nor build"
            );
            if (service.TryGetValue("build", out var build))
            {
                var b = Map(build);
                var context = Path.GetFullPath(Path.Combine(Docker, (string)b["context"]));
                Assert.True(
                    File.Exists(Path.Combine(context, (string)b["dockerfile"])),
                    $"{name}: dockerfile not found"
                );
            }
            foreach (var port in service.TryGetValue("ports", out var ports) ? List(ports).Cast<string>() : [])
            {
                Assert.StartsWith("127.0.0.1:", port); // published on the host's loopback only
                hostPorts.Add(port.Split(':')[1]);
            }
            foreach (var volume in service.TryGetValue("volumes", out var volumes) ? List(volumes).Cast<string>() : [])
            {
                var source = volume.Split(':')[0];
                if (source.StartsWith("./", StringComparison.Ordinal))
                    Assert.True(
                        File.Exists(Path.Combine(Docker, source)) || Directory.Exists(Path.Combine(Docker, source)),
                        $"{name}: {source} does not exist"
                    );
                else
                    // a named volume, declared
                    Assert.Contains(source, Map(Yaml("compose.yaml")["volumes"]).Keys.Cast<string>());
            }
            if (service.TryGetValue("depends_on", out var deps))
                foreach (var dep in deps is List<object> l ? l.Cast<string>() : Map(deps).Keys.Cast<string>())
                    Assert.Contains(dep, services.Keys.Cast<string>());
        }
        Assert.Equal(hostPorts.Count, hostPorts.Distinct().Count());

        // The engine serves /metrics where Prometheus scrapes it, and reads Kafka where Kafka advertises itself.
        var engine = List(Map(services["engine"])["command"]).Cast<string>().ToList();
        Assert.Equal("engine", engine[0]);
        Assert.Equal("kafka:9092", engine[engine.IndexOf("--bootstrap") + 1]);
        Assert.Equal("0.0.0.0:9464", engine[engine.IndexOf("--http") + 1]);
        Assert.Equal(
            "PLAINTEXT://kafka:9092",
            Map(Map(services["kafka"])["environment"])["KAFKA_ADVERTISED_LISTENERS"]
        );
        var scrape = List(Yaml("prometheus.yml")["scrape_configs"])
            .Select(Map)
            .Single(j => (string)j["job_name"] == "logwhisperer");
        Assert.Equal("engine:9464", List(Map(List(scrape["static_configs"])[0])["targets"]).Single());

        // The runtime image has ASP.NET Core (Kestrel) and is .NET 10.
        var dockerfile = File.ReadAllText(Path.Combine(Docker, "Dockerfile"));
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0 AS build", dockerfile);
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0\s*$", dockerfile);
    }

    /// <summary>
    /// Engine and gateway are health-checked by their own /readyz (with the program's `healthcheck` command: the
    /// image has no curl), on the port they listen on; docker stop gives them longer than their drain.
    /// </summary>
    [Fact]
    public void EngineAndGatewayAreHealthCheckedOnTheirReadinessProbeAndGivenTimeToDrain()
    {
        var services = Services;
        foreach (var (name, listenOption) in new[] { ("engine", "--http"), ("gateway", "--listen") })
        {
            var service = Map(services[name]);
            var command = List(service["command"]).Cast<string>().ToList();
            var port = command[command.IndexOf(listenOption) + 1].Split(':')[1];
            Assert.True(service.ContainsKey("healthcheck"), $"{name} has no healthcheck");
            var test = List(Map(service["healthcheck"])["test"]).Cast<string>().ToList();
            Assert.Equal(["CMD", "./logwhisperer", "healthcheck", $"http://127.0.0.1:{port}/readyz"], test);
            var grace = (string)service["stop_grace_period"];
            Assert.True(
                int.Parse(grace.TrimEnd('s')) > 30,
                $"{name}: stop_grace_period {grace} is not longer than the 30 s drain"
            );
        }
    }

    [Fact]
    public void TheCollectorWritesTheTopicsAndEncodingsTheEngineReads()
    {
        var config = Yaml("otel-collector.yaml");
        var exporters = Map(config["exporters"]);
        var pipelines = Map(Map(config["service"])["pipelines"]);
        // Collector encoding and signal for each format the engine reads from Kafka.
        var collectorFormat = new Dictionary<(string Signal, string Encoding), TelemetryFormat>
        {
            [("traces", "otlp_proto")] = TelemetryFormat.OtlpTracesProto,
            [("traces", "otlp_json")] = TelemetryFormat.OtlpTracesJson,
            [("logs", "otlp_proto")] = TelemetryFormat.OtlpLogsProto,
            [("logs", "otlp_json")] = TelemetryFormat.OtlpLogsJson,
            [("metrics", "otlp_proto")] = TelemetryFormat.OtlpMetricsProto,
            [("metrics", "otlp_json")] = TelemetryFormat.OtlpMetricsJson,
        };
        var written = new Dictionary<string, TelemetryFormat>();
        foreach (var (pipelineName, value) in pipelines)
        {
            var signal = ((string)pipelineName).Split('/')[0];
            foreach (var exporter in List(Map(value)["exporters"]).Cast<string>())
            {
                Assert.True(
                    exporters.ContainsKey(exporter),
                    $"pipeline {pipelineName} uses undefined exporter {exporter}"
                );
                if (!exporter.StartsWith("kafka", StringComparison.Ordinal))
                    continue;
                var e = Map(exporters[exporter]);
                Assert.Equal(["kafka:9092"], List(e["brokers"]));
                var topic = (string)e["topic"];
                Assert.True(
                    collectorFormat.TryGetValue((signal, (string)e["encoding"]), out var format),
                    $"{exporter}: {signal} as {e["encoding"]} is not a format the engine reads"
                );
                Assert.True(
                    KafkaSettings.DefaultInputTopics.TryGetValue(topic, out var expected),
                    $"{exporter} writes {topic}, which the engine does not read by default"
                );
                Assert.Equal(expected, format);
                written[topic] = format;
            }
        }
        // Every OTLP protobuf topic the engine reads is fed by the collector (the JSON ones by the gateway).
        Assert.Equal(
            KafkaSettings
                .DefaultInputTopics.Where(t =>
                    t.Value.ToString().StartsWith("Otlp", StringComparison.Ordinal)
                    && t.Value.ToString().EndsWith("Proto", StringComparison.Ordinal)
                )
                .OrderBy(t => t.Key),
            written.OrderBy(t => t.Key)
        );
        Assert.Equal(
            new KafkaSettings { BootstrapServers = "x" }.OutputTopic,
            Map(Map(config["receivers"])["kafka/rca"])["topic"]
        ); // RCA events into Loki
    }

    [Fact]
    public void PromtoolAcceptsThePrometheusConfig()
    {
        if (!File.Exists("/usr/bin/promtool"))
        {
            Console.WriteLine("skipped: promtool (Debian package prometheus) is not installed");
            return;
        }
        var (exit, output, err) = TestData.RunProcess(
            "promtool",
            ["check", "config", Path.Combine(Docker, "prometheus.yml")],
            TimeSpan.FromSeconds(60)
        );
        Assert.True(exit == 0, output + err);
        Assert.Contains("SUCCESS", output + err);
    }

    [Fact]
    public async Task TheGrafanaDashboardUsesProvisionedDatasourcesAndMetricsTheEngineExposes()
    {
        var datasources = List(Yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"])
            .Select(Map)
            .ToDictionary(d => (string)d["uid"], d => (string)d["type"]);
        var provider = Map(List(Yaml("grafana/provisioning/dashboards/dashboards.yaml")["providers"]).Single());
        Assert.Contains(
            "./grafana/dashboards:" + Map(provider["options"])["path"] + ":ro",
            List(Map(Services["grafana"])["volumes"]).Cast<string>()
        ); // the provider reads where compose mounts the dashboards

        // Families the engine exposes, including the Kafka ones (present only when it reads Kafka).
        using var metrics = new EngineMetrics
        {
            ConsumerLag = () => [new PartitionLag("t", 0, 1)],
            KafkaMessages = () => (1, 0),
        };
        _ = new RcaPipeline(
            new PipelineOptions { Metrics = metrics },
            new Featurizer(new FeaturizerOptions()),
            null,
            null,
            new MemoryDeadLetterSink()
        ); // the stage series
        var exposed = MetricsTests.CheckExposition(
            await MetricsTests.ScrapeAsync(
                metrics,
                () =>
                {
                    metrics.ScoringPass(TimeSpan.FromMilliseconds(3)); // histograms appear with their first measurement
                    metrics.EventEmitted(DateTimeOffset.UtcNow);
                }
            )
        );

        using var doc = JsonDocument.Parse(
            File.ReadAllText(Path.Combine(Docker, "grafana/dashboards/logwhisperer.json"))
        );
        var panels = doc.RootElement.GetProperty("panels").EnumerateArray().ToList();
        Assert.True(panels.Count >= 8);
        var expressions = new List<string>();
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                var ds = target.GetProperty("datasource");
                Assert.True(
                    datasources.TryGetValue(ds.GetProperty("uid").GetString()!, out var type),
                    $"{title}: datasource {ds.GetProperty("uid")} is not provisioned"
                );
                Assert.Equal(type, ds.GetProperty("type").GetString());
                var expr = target.GetProperty("expr").GetString()!;
                if (type != "prometheus")
                {
                    Assert.Equal("loki", type);
                    Assert.Contains("logwhisperer-rca", expr);
                    continue;
                }
                var names = Regex.Matches(expr, @"\blogwhisperer_[a-z_]+").Select(m => m.Value).ToList();
                Assert.True(names.Count > 0, $"{title}: {expr} names no engine metric");
                foreach (var name in names)
                {
                    var family = Regex.Replace(name, "_(bucket|sum|count)$", "");
                    Assert.True(
                        exposed.ContainsKey(name) || (exposed.GetValueOrDefault(family) == "histogram"),
                        $"{title}: {name} is not exposed at /metrics"
                    );
                }
                expressions.Add(expr);
            }
        }
        Assert.Contains(panels, p => p.GetProperty("type").GetString() == "logs"); // RCA events with their explanations

        // Every expression parses: promtool checks them as recording rules.
        if (!File.Exists("/usr/bin/promtool"))
            return;
        var rules = Path.Combine(TestData.TempDir(), "rules.yml");
        File.WriteAllText(
            rules,
            "groups:\n  - name: dashboard\n    rules:\n"
                + string.Concat(
                    expressions.Select(
                        (e, i) => $"      - record: dashboard:expr{i}\n        expr: {JsonSerializer.Serialize(e)}\n"
                    )
                )
        );
        var (exit, output, err) = TestData.RunProcess("promtool", ["check", "rules", rules], TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, output + err);
    }
}
