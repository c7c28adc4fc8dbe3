using System.Text.Json;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Explain;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Tests;

/// <summary>
/// The engine observed by the stack it analyses: with the standard OTEL_* variables set, the program exports its
/// own metrics and stage traces over OTLP/HTTP protobuf (the OpenTelemetry SDK's exporter). The receiving end is a
/// plain HTTP server standing in for an OpenTelemetry Collector; the engine's own OTLP decoders read what it got.
/// </summary>
[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public class EngineOtlpExportTests
{
    [Fact]
    public async Task DemoExportsItsMetricsAndStageTracesOverOtlpWhenTheStandardVariablesAreSet()
    {
        await using var collector = await CapturingHttpServer.StartAsync();
        var (exit, stdout, stderr) = TestData.RunProcess(
            "dotnet",
            [TestData.CliDll, "demo", "--seed", "7"],
            TimeSpan.FromMinutes(3),
            new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url.ToString().TrimEnd('/'),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            }
        );
        Assert.True(exit == 0, stderr);
        var events = stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonSerializer.Deserialize<RcaEvent>(l, RcaEvent.JsonOptions)!)
            .ToList();

        var requests = collector.Requests;
        var metricPosts = requests.Where(r => r.PathAndQuery == "/v1/metrics").ToList();
        var tracePosts = requests.Where(r => r.PathAndQuery == "/v1/traces").ToList();
        Assert.True(
            metricPosts.Count > 0 && tracePosts.Count > 0,
            string.Join(", ", requests.Select(r => $"{r.Method} {r.PathAndQuery}"))
        );
        Assert.All(
            metricPosts.Concat(tracePosts),
            r => Assert.Equal(("POST", "application/x-protobuf"), (r.Method, r.Headers["Content-Type"]))
        );

        // Metrics: the last export (cumulative) counts what the demo did — one RCA event per window it judged an
        // incident (the incident's resolution event comes from the incident stage after the pipeline's sink).
        var options = new DecodeOptions { DefaultCluster = "self" };
        var samples = new List<TelemetryRecord>();
        new OtlpMetricsProtoDecoder(options).Decode(metricPosts[^1].Raw, samples);
        var metrics = samples.Cast<MetricSample>().ToList();
        Assert.All(metrics, m => Assert.Equal("logwhisperer", m.Service)); // the resource's service.name
        Assert.Equal(
            events.Count(e => e.Incident?.State != IncidentInfo.Resolved),
            metrics.Single(m => m.Name == "logwhisperer.rca_events").Value
        );
        Assert.Contains(metrics, m => m.Name == "logwhisperer.windows.emitted" && m.Value > 0);
        Assert.Contains(metrics, m => m.Name == "logwhisperer.window.latency_count" && m.Value > 0);
        foreach (var stage in new[] { "decode", "window", "featurize", "graph", "score", "explain", "sink" })
            Assert.Contains(
                metrics,
                m => m.Name == "logwhisperer.stage.records_in" && m.Labels!.Values.Contains(stage) && m.Value > 0
            );

        // Traces: a span per item each stage handled, named after the stage.
        var spans = new List<TelemetryRecord>();
        foreach (var post in tracePosts)
            new OtlpTracesProtoDecoder(options).Decode(post.Raw, spans);
        var operations = spans
            .Cast<SpanRecord>()
            .Where(s => s.Service == "logwhisperer")
            .Select(s => s.Operation)
            .ToHashSet();
        Assert.Superset(
            new HashSet<string> { "decode", "window", "featurize", "graph", "score", "explain", "sink" },
            operations
        );
    }
}
