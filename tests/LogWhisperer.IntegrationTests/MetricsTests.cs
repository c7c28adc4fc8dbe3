using System.Text.RegularExpressions;
using LogWhisperer.Cli.Dashboard;
using LogWhisperer.Kafka;
using LogWhisperer.Observability;

namespace LogWhisperer.Tests;

[Collection(DashboardFixture.Collection)]
public class MetricsTests(DashboardFixture fixture)
{
    private static readonly Regex SampleLine = new(
        @"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*=""(\\[\\""n]|[^\\""])*"",?)*\})? (\S+)$"
    );

    /// <summary>Checks the text format's grammar: HELP and TYPE once per family, every sample under its
    /// family.</summary>
    internal static Dictionary<string, string> CheckExposition(string text)
    {
        var types = new Dictionary<string, string>();
        var helped = new HashSet<string>();
        string? current = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line == "# EOF")
                continue;
            if (
                line.StartsWith("# HELP ", StringComparison.Ordinal)
                || line.StartsWith("# TYPE ", StringComparison.Ordinal)
            )
            {
                var parts = line.Split(' ');
                if (parts[2] != current)
                {
                    Assert.DoesNotContain(parts[2], types.Keys.Concat(helped));
                    current = parts[2];
                }
                if (parts[1] == "HELP")
                {
                    Assert.True(helped.Add(current), $"HELP twice for {current}");
                    continue;
                }
                Assert.Contains(parts[3], new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                Assert.True(types.TryAdd(current, parts[3]), $"TYPE twice for {current}");
                continue;
            }
            var m = SampleLine.Match(line);
            Assert.True(m.Success, $"not a sample line: {line}");
            var name = m.Groups[1].Value;
            var family = types[current!] == "histogram" ? Regex.Replace(name, "_(bucket|sum|count)$", "") : name;
            Assert.Equal(current, family);
            Assert.True(
                double.TryParse(
                    m.Groups[5].Value.Replace("+Inf", "Infinity"),
                    System.Globalization.CultureInfo.InvariantCulture,
                    out _
                ),
                line
            );
        }
        return types;
    }

    /// <summary>
    /// What a Prometheus scrape of <paramref name="metrics"/> returns: the engine's web server (OpenTelemetry's
    /// Prometheus exporter) started on a free loopback port for the one request.
    /// </summary>
    internal static async Task<string> ScrapeAsync(EngineMetrics metrics, Action? whileServing = null)
    {
        await using var server = new DashboardServer(new DashboardOptions(), new DashboardFeed(), metrics);
        await server.StartAsync();
        whileServing?.Invoke(); // histograms are exported from their first measurement after the exporter starts
        using var http = new HttpClient();
        return await http.GetStringAsync(server.Urls.First().TrimEnd('/') + "/metrics");
    }

    /// <summary>
    /// Every sample of an exposition by series, <c>name{label="value",…}</c> (labels in name order,
    /// OpenTelemetry's <c>otel_scope_*</c> labels left out), or the bare name when it has no other labels.
    /// </summary>
    internal static Dictionary<string, double> Samples(string text)
    {
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            var m = SampleLine.Match(line);
            Assert.True(m.Success, $"not a sample line: {line}");
            var labels = Regex
                .Matches(m.Groups[2].Value, @"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:\\[\\""n]|[^\\""])*)""")
                .Where(l => !l.Groups[1].Value.StartsWith("otel_scope_", StringComparison.Ordinal))
                .OrderBy(l => l.Groups[1].Value, StringComparer.Ordinal)
                .Select(l => l.Value)
                .ToList();
            var key = labels.Count == 0 ? m.Groups[1].Value : $"{m.Groups[1].Value}{{{string.Join(",", labels)}}}";
            samples[key] = double.Parse(
                m.Groups[5].Value.Replace("+Inf", "Infinity"),
                System.Globalization.CultureInfo.InvariantCulture
            );
        }
        return samples;
    }

    [Fact]
    public async Task TheEngineExposesItsFigures()
    {
        using var http = new HttpClient();
        Assert.Equal(
            System.Net.HttpStatusCode.Unauthorized,
            (await http.GetAsync(fixture.Url + "/metrics")).StatusCode
        );
        http.DefaultRequestHeaders.Authorization = new("Bearer", DashboardFixture.Token);
        var response = await http.GetAsync(fixture.Url + "/metrics");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("version=0.0.4", response.Content.Headers.ContentType!.ToString());
        var text = await response.Content.ReadAsStringAsync();
        var types = CheckExposition(text);
        Assert.Equal("histogram", types["logwhisperer_scoring_latency_seconds"]);
        Assert.Equal("counter", types["logwhisperer_stage_records_in_total"]);
        var samples = Samples(text);
        var p = fixture.Pipeline;
        Assert.Equal(p.Decode.RecordsIn, samples["logwhisperer_stage_records_in_total{stage=\"decode\"}"]);
        Assert.Equal(p.Window.RecordsOut, samples["logwhisperer_windows_emitted_total"]);
        Assert.Equal(fixture.Events.Events.Count, samples["logwhisperer_rca_events_total"]);
        Assert.Equal(fixture.Events.Events.Count, samples["logwhisperer_window_latency_seconds_count"]);
        // Every window the windower closed was measured from its close to its being done, once.
        Assert.Equal("histogram", types["logwhisperer_window_processing_seconds"]);
        Assert.Equal(p.Window.RecordsOut, samples["logwhisperer_window_processing_seconds_count"]);
        Assert.Equal((p.Window.RecordsOut, (long)fixture.Events.Events.Count), p.Latency.Count);
        Assert.InRange(p.Latency.Quantile(0.5), 0, p.Latency.Quantile(0.99));
        // one per batch of snapshots scored together
        double passes = samples["logwhisperer_scoring_latency_seconds_count"];
        Assert.InRange(passes, 1, p.Score.RecordsIn);
        // The buckets are the engine's (instrument advice), cumulative, ending at +Inf = count.
        var buckets = EngineMetrics
            .ScoringLatencyBounds.Select(b =>
                samples[
                    $"logwhisperer_scoring_latency_seconds_bucket{{le=\"{b.ToString(System.Globalization.CultureInfo.InvariantCulture)}\"}}"
                ]
            )
            .ToList();
        Assert.Equal(buckets.Order(), buckets);
        Assert.Equal(passes, samples["logwhisperer_scoring_latency_seconds_bucket{le=\"+Inf\"}"]);
        Assert.True(samples["logwhisperer_process_resident_memory_bytes"] > 0);
        Console.WriteLine(
            $"/metrics: {text.Length:N0} bytes, {text.Split('\n').Count(l => l.Length > 0 && l[0] != '#')} samples in {types.Count} families"
        );
    }

    [Fact]
    public async Task ARealPrometheusScrapesTheEngine()
    {
        var target = new Uri(fixture.Url);
        using var prometheus = await PrometheusServer.StartAsync(
            $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: logwhisperer
                authorization: {"{"}credentials: {DashboardFixture.Token}{"}"}
                static_configs: [{"{"}targets: ['127.0.0.1:{target.Port}']{"}"}]
            """
        );
        var up = await prometheus.WaitForAsync("up{job=\"logwhisperer\"} == 1", TimeSpan.FromSeconds(60));
        Assert.True(up.Count == 1, "Prometheus never scraped the engine successfully");
        foreach (
            var query in new[]
            {
                "logwhisperer_stage_records_in_total{stage=\"decode\"}",
                "logwhisperer_stage_busy_seconds_total{stage=\"score\"}",
                "logwhisperer_windows_emitted_total",
                "logwhisperer_rca_events_total",
                "logwhisperer_scoring_latency_seconds_count",
                "histogram_quantile(0.5, logwhisperer_scoring_latency_seconds_bucket)",
                "logwhisperer_process_resident_memory_bytes",
            }
        )
        {
            var result = await prometheus.WaitForAsync(query, TimeSpan.FromSeconds(10));
            Assert.True(
                result.Count == 1 && result[0].Value > 0,
                $"{query}: {(result.Count == 0 ? "no series" : result[0].Value)}"
            );
        }
        Assert.Equal(
            fixture.Events.Events.Count,
            (await prometheus.QueryAsync("logwhisperer_rca_events_total")).Single().Value
        );
    }

    [Fact]
    public async Task ConsumerLagIsReadFromLibrdkafkaStatistics()
    {
        // Shape of librdkafka's statistics (STATISTICS.md): topics → partitions → consumer_lag; -1 = not known yet.
        const string stats = """
            {"name":"rdkafka#consumer-1","type":"consumer","topics":{
              "otlp_spans":{"topic":"otlp_spans","partitions":{
                "0":{"partition":0,"consumer_lag":42,"hi_offset":100},
                "1":{"partition":1,"consumer_lag":-1},
                "-1":{"partition":-1,"consumer_lag":-1}}},
              "loki_push":{"topic":"loki_push","partitions":{"2":{"partition":2,"consumer_lag":0}}}}}
            """;
        var lag = new ConsumerLagStatistics();
        lag.Update(stats);
        Assert.Equal([new PartitionLag("loki_push", 2, 0), new PartitionLag("otlp_spans", 0, 42)], lag.Latest);
        lag.Update("{not json");
        Assert.Equal(2, lag.Latest.Count); // the last good figures stay

        using var metrics = new EngineMetrics { ConsumerLag = () => lag.Latest, KafkaMessages = () => (10, 2) };
        var text = await ScrapeAsync(metrics);
        CheckExposition(text);
        var samples = Samples(text);
        Assert.Equal(42, samples["logwhisperer_kafka_consumer_lag{partition=\"0\",topic=\"otlp_spans\"}"]);
        Assert.Equal(2, samples["logwhisperer_dead_letters_total{reason=\"undecodable\",stage=\"kafka\"}"]);
        Assert.Equal(10, samples["logwhisperer_kafka_messages_total"]);
    }
}
