using System.Text.RegularExpressions;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;

namespace LogWhisperer.Tests;

[Collection(DashboardFixture.Collection)]
public class MetricsTests(DashboardFixture fixture)
{
    private static readonly Regex SampleLine = new(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*=""(\\[\\""n]|[^\\""])*"",?)*\})? (\S+)$");

    /// <summary>Checks the text format's grammar: HELP then TYPE once per family, every sample under its family.</summary>
    internal static Dictionary<string, string> CheckExposition(string text)
    {
        var types = new Dictionary<string, string>();
        string? current = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith("# HELP ", StringComparison.Ordinal)) { current = line.Split(' ')[2]; Assert.DoesNotContain(current, types.Keys); continue; }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.Equal(current, parts[2]);
                Assert.Contains(parts[3], new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                types[parts[2]] = parts[3];
                continue;
            }
            var m = SampleLine.Match(line);
            Assert.True(m.Success, $"not a sample line: {line}");
            var name = m.Groups[1].Value;
            var family = types[current!] == "histogram" ? Regex.Replace(name, "_(bucket|sum|count)$", "") : name;
            Assert.Equal(current, family);
            Assert.True(double.TryParse(m.Groups[5].Value.Replace("+Inf", "Infinity"), System.Globalization.CultureInfo.InvariantCulture, out _), line);
        }
        return types;
    }

    [Fact]
    public void TheExpositionEscapesAndHistogramsAreCumulative()
    {
        var x = new PrometheusExposition();
        x.Family("t_total", "counter", "Help with a back\\slash and a\nnewline.");
        x.Sample("t_total", 3, ("reason", "say \"hi\"\\\n"));
        var h = new Histogram(0.1, 1);
        foreach (var v in new[] { 0.05, 0.5, 0.7, 5 }) h.Observe(v);
        x.Histogram("t_seconds", "Latency.", h);
        var text = x.ToString();
        Assert.Contains("# HELP t_total Help with a back\\\\slash and a\\nnewline.\n", text);
        Assert.Contains("t_total{reason=\"say \\\"hi\\\"\\\\\\n\"} 3\n", text);
        Assert.Contains("t_seconds_bucket{le=\"0.1\"} 1\nt_seconds_bucket{le=\"1\"} 3\nt_seconds_bucket{le=\"+Inf\"} 4\nt_seconds_sum 6.25\nt_seconds_count 4\n", text);
        Assert.Equal(new Dictionary<string, string> { ["t_total"] = "counter", ["t_seconds"] = "histogram" }, CheckExposition(text));
        Assert.Throws<InvalidOperationException>(() => x.Family("t_total", "counter", "again"));
    }

    [Fact]
    public async Task TheEngineExposesItsFiguresAndDeadLettersByReasonClass()
    {
        Assert.Equal("late", EngineMetrics.ReasonClass("late: window ending 1767226200000 already emitted"));
        Assert.Equal("missing service", EngineMetrics.ReasonClass("missing service"));

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", DashboardFixture.Token);
        var response = await http.GetAsync(fixture.Url + "/metrics");
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var text = await response.Content.ReadAsStringAsync();
        var types = CheckExposition(text);
        Assert.Equal("histogram", types["logwhisperer_scoring_latency_seconds"]);
        Assert.Equal("counter", types["logwhisperer_stage_records_in_total"]);
        var p = fixture.Pipeline;
        Assert.Contains($"logwhisperer_stage_records_in_total{{stage=\"decode\"}} {p.Decode.RecordsIn}\n", text);
        Assert.Contains($"logwhisperer_windows_emitted_total {p.Window.RecordsOut}\n", text);
        Assert.Contains($"logwhisperer_rca_events_total {fixture.Events.Events.Count}\n", text);
        long passes = fixture.Metrics.ScoringLatency.Count; // one per batch of snapshots scored together
        Assert.InRange(passes, 1, p.Score.RecordsIn);
        Assert.Contains($"logwhisperer_scoring_latency_seconds_count {passes}\n", text);
        Console.WriteLine($"/metrics: {text.Length:N0} bytes, {text.Split('\n').Count(l => l.Length > 0 && l[0] != '#')} samples in {types.Count} families");
    }

    [Fact]
    public async Task ARealPrometheusScrapesTheEngine()
    {
        var target = new Uri(fixture.Url);
        using var prometheus = await PrometheusServer.StartAsync($"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: logwhisperer
                authorization: {"{"}credentials: {DashboardFixture.Token}{"}"}
                static_configs: [{"{"}targets: ['127.0.0.1:{target.Port}']{"}"}]
            """);
        var up = await prometheus.WaitForAsync("up{job=\"logwhisperer\"} == 1", TimeSpan.FromSeconds(60));
        Assert.True(up.Count == 1, "Prometheus never scraped the engine successfully");
        foreach (var query in new[]
        {
            "logwhisperer_stage_records_in_total{stage=\"decode\"}", "logwhisperer_stage_busy_seconds_total{stage=\"score\"}",
            "logwhisperer_windows_emitted_total", "logwhisperer_rca_events_total", "logwhisperer_scoring_latency_seconds_count",
            "histogram_quantile(0.5, logwhisperer_scoring_latency_seconds_bucket)", "logwhisperer_process_resident_memory_bytes",
        })
        {
            var result = await prometheus.WaitForAsync(query, TimeSpan.FromSeconds(10));
            Assert.True(result.Count == 1 && result[0].Value > 0, $"{query}: {(result.Count == 0 ? "no series" : result[0].Value)}");
        }
        Assert.Equal(fixture.Events.Events.Count, (await prometheus.QueryAsync("logwhisperer_rca_events_total")).Single().Value);
    }

    [Fact]
    public void ConsumerLagIsReadFromLibrdkafkaStatistics()
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

        var metrics = new EngineMetrics { ConsumerLag = () => lag.Latest, KafkaMessages = () => (10, 2) };
        var text = metrics.Exposition();
        CheckExposition(text);
        Assert.Contains("logwhisperer_kafka_consumer_lag{topic=\"otlp_spans\",partition=\"0\"} 42\n", text);
        Assert.Contains("logwhisperer_dead_letters_total{stage=\"kafka\",reason=\"undecodable\"} 2\n", text);
    }
}
