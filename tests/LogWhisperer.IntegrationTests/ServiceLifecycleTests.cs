using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Confluent.Kafka;
using LogWhisperer.Kafka;
using LogWhisperer.Simulation;
using Xunit.Abstractions;

namespace LogWhisperer.Tests;

/// <summary>`logwhisperer ARGS` as a child process: stderr lines kept, signals sent with kill(1), killed on
/// Dispose.</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly StringBuilder _stdout = new();

    public CliProcess(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestData.RepoRoot,
        };
        psi.ArgumentList.Add(TestData.CliDll);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
                _lines.Enqueue(line);
        };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
                lock (_stdout)
                    _stdout.AppendLine(line);
        };
        _process.Start();
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public string Stderr => string.Join('\n', _lines);
    public string Stdout
    {
        get
        {
            lock (_stdout)
                return _stdout.ToString();
        }
    }
    public IReadOnlyList<string> Lines => _lines.ToArray();
    public bool HasExited => _process.HasExited;

    /// <summary>The first stderr line matching, waiting for it (null when the process exits or the timeout passes
    /// first).</summary>
    public string? WaitFor(Func<string, bool> match, TimeSpan timeout)
    {
        string? found = null;
        TestData.WaitUntil(
            () =>
            {
                if (_process.HasExited)
                    _process.WaitForExit(); // flushes the redirected streams: every line it wrote is read below
                return (found = _lines.FirstOrDefault(match)) is not null || _process.HasExited;
            },
            timeout
        );
        return found;
    }

    /// <summary>kill -SIGNAL pid (TERM, INT, …): what docker stop, systemd and a terminal send.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, _process.Id.ToString()]))!;
        kill.WaitForExit();
    }

    /// <returns>The exit code; null when it did not exit in time (then it is killed).</returns>
    public int? WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(true);
            return null;
        }
        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(true);
        _process.Dispose();
    }
}

/// <summary>
/// The long-running commands as a service manager runs them: a real SIGTERM (or SIGINT) drains and exits 0,
/// committing what was finished; Kafka down is a 503 or a clear exit, a port in use one line.
/// </summary>
[Collection(SeveralEnginesCollection.Name)]
public class ServiceLifecycleTests(ITestOutputHelper output)
{
    // an upper bound only: every wait ends when its condition holds
    private static readonly TimeSpan Generous = TestData.Generous;

    /// <summary>Whether SIGINT (signal 2) is in this process's ignored-signal mask (/proc/self/status,
    /// SigIgn).</summary>
    private static bool SigintIgnored()
    {
        var line = File.ReadLines("/proc/self/status")
            .FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0;
    }

    private static string UnreachableBroker() => $"127.0.0.1:{TestData.FreePort()}"; // nothing listens there

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public void EngineDrainsOnASignalCommitsFinishedWindowsAndExitsZero(string signal)
    {
        // A shell starts background jobs with SIGINT ignored, children inherit that, and .NET keeps an ignored SIGINT
        // ignored (as nohup intends): the engine could not see the signal. Say so rather than wait for nothing.
        if (signal == "INT" && SigintIgnored())
        {
            output.WriteLine(
                "skipped: SIGINT is ignored in this test process (started as a background job?), "
                    + "so its children cannot receive it"
            );
            return;
        }
        using var cluster = new MockKafkaCluster(brokers: 1);
        var topics = new KafkaTelemetryProducer.Topics("life_logs", "life_metrics", "life_spans");
        foreach (var t in new[] { topics.Logs, topics.Metrics, topics.Spans })
            cluster.CreateTopic(t, 2);
        var settings = new KafkaSettings { BootstrapServers = cluster.BootstrapServers };
        var sim = new ChaosSimulator(
            TestData.OnlineBoutique(),
            new SimulationOptions
            {
                Cluster = "shop",
                Seed = 3,
                LoadFactor = 0.4,
            },
            [
                new Fault(
                    "cartservice",
                    FaultKind.Errors,
                    new SimulationOptions().StartMs + 240_000,
                    new SimulationOptions().StartMs + 360_000,
                    0.7
                ),
            ]
        );
        using (var producer = new KafkaTelemetryProducer(settings, topics))
        {
            while (sim.NowMs < new SimulationOptions().StartMs + 480_000)
                producer.Produce(sim.NextSecond());
            producer.Flush();
        }
        string group = "life-" + signal.ToLowerInvariant();
        using var engine = new CliProcess(
            "engine",
            "-b",
            cluster.BootstrapServers,
            "--group",
            group,
            "--output-topic",
            "life_rca",
            "--dead-letter-topic",
            "life_dlq",
            "--topic",
            "life_logs=LokiProto",
            "--topic",
            "life_metrics=RemoteWrite",
            "--topic",
            "life_spans=OtlpTracesProto"
        );
        Assert.True(
            engine.WaitFor(l => l.Contains("caught up on all assigned partitions"), Generous) is not null,
            engine.Stderr
        );
        // Signalled once it has published something (the input holds an incident), while it is still running.
        TestData.WaitUntil(() => MessagesIn(cluster, "life_rca") > 0 || engine.HasExited, Generous);

        engine.Signal(signal);
        var exit = engine.WaitForExit(Generous);
        output.WriteLine(engine.Stderr);
        Assert.Equal(0, exit);
        Assert.Contains(engine.Lines, l => l.StartsWith("stopping: draining"));
        var events = engine.Lines.Single(l => l.StartsWith("events   :"));
        Assert.DoesNotContain("   at ", engine.Stderr);

        // What it finished is committed: a restarted engine would not re-read the whole input.
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(
            new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = group }
        ).Build();
        var committed = consumer.Committed(
            [new TopicPartition("life_logs", 0), new TopicPartition("life_logs", 1)],
            TimeSpan.FromSeconds(10)
        );
        Assert.Contains(committed, c => c.Offset.Value > 0);
        // Every event it reports published is on the output topic.
        int published = int.Parse(events["events   :".Length..].Trim().Split(' ')[0]);
        Assert.True(published > 0, events);
        Assert.Equal(published, MessagesIn(cluster, "life_rca"));
    }

    /// <summary>Messages in a topic (the sum of its partitions' high watermarks); 0 while it does not exist.</summary>
    internal static long MessagesIn(MockKafkaCluster cluster, string topic)
    {
        using var admin = new AdminClientBuilder(
            new AdminClientConfig { BootstrapServers = cluster.BootstrapServers, AllowAutoCreateTopics = false }
        ).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single();
        if (metadata.Error.IsError || metadata.Partitions.Count == 0)
            return 0;
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(
            new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "count" }
        ).Build();
        return metadata.Partitions.Sum(p =>
            consumer
                .QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10))
                .High.Value
        );
    }

    [Fact]
    public async Task DemoWithItsDashboardServesProbesAndStopsOnSigterm()
    {
        using var demo = new CliProcess("demo", "--http", "0");
        var dashboard = demo.WaitFor(l => l.StartsWith("dashboard: "), Generous);
        Assert.True(dashboard is not null, demo.Stderr);
        var url = System.Text.RegularExpressions.Regex.Match(dashboard!, @"http://127\.0\.0\.1:\d+").Value;
        Assert.True(demo.WaitFor(l => l.StartsWith("the dashboard stays up"), Generous) is not null, demo.Stderr);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(url + "/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(url + "/readyz")).StatusCode);

        demo.Signal("TERM");
        Assert.Equal(0, demo.WaitForExit(Generous));
    }

    [Fact]
    public async Task GatewayWithKafkaDownAnswers503WithRetryAfterLogsTheOutageOnceAndStopsOnSigterm()
    {
        int port = TestData.FreePort();
        using var gateway = new CliProcess(
            "gateway",
            "-b",
            UnreachableBroker(),
            "--listen",
            $"127.0.0.1:{port}",
            "--delivery-timeout",
            "2"
        );
        Assert.True(gateway.WaitFor(l => l.Contains("gateway listening"), Generous) is not null, gateway.Stderr);
        using var http = new HttpClient
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(60),
        };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode); // alive…
        var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode); // …but not ready
        Assert.Contains("kafka", await ready.Content.ReadAsStringAsync());

        long ns = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var push = new StringContent(
            $$"""{"streams":[{"stream":{"service_name":"cart","cluster":"c"},"values":[["{{ns}}","hello"]]}]}""",
            Encoding.UTF8,
            "application/json"
        );
        // before: hung 300 s (librdkafka's message timeout)
        var answer = await http.PostAsync("/loki/api/v1/push", push);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        Assert.NotNull(answer.Headers.RetryAfter);
        // What a compose or Kubernetes healthcheck runs: exit 3 while not ready, 0 while alive.
        var (notReady, _, why) = CliTests.Run("healthcheck", $"http://127.0.0.1:{port}/readyz");
        Assert.Equal(3, notReady);
        Assert.Contains("503 not ready: kafka", why);
        Assert.Equal(0, CliTests.Run("healthcheck", $"http://127.0.0.1:{port}/healthz").Exit);
        var metrics = MetricsTests.Samples(await http.GetStringAsync("/metrics"));
        Assert.Equal(1, metrics["logwhisperer_gateway_rejections_total{reason=\"kafka_unavailable\"}"]);
        Assert.Equal(0, metrics["logwhisperer_gateway_kafka_up"]);

        gateway.Signal("TERM"); // before: ignored while Kafka was down
        Assert.Equal(0, gateway.WaitForExit(Generous));
        output.WriteLine(gateway.Stderr);
        // librdkafka's reconnect messages are summarised, not repeated (before: ~3 a second).
        Assert.True(gateway.Lines.Count(l => l.Contains("Connection refused")) <= 2, gateway.Stderr);
        Assert.Contains("0 request(s) accepted", gateway.Stderr);
    }

    [Fact]
    public void EngineWithAnUnreachableBrokerRetriesThenExitsWithCode3AndOneLine()
    {
        var broker = UnreachableBroker();
        var (exit, _, stderr) = CliTests.Run("engine", "-b", broker, "--connect-timeout", "4");
        output.WriteLine(stderr);
        Assert.Equal(3, exit);
        Assert.Contains($"error: Kafka at {broker} unreachable for 4 s", stderr);
        Assert.Contains("retrying in", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Exception", stderr);
        // before: ~490 lines of librdkafka
        Assert.True(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length < 10, stderr);
    }

    [Fact]
    public void RecordsTheMockBrokerDroppedAreAWarningThatSaysHowToAvoidIt()
    {
        using var cluster = new MockKafkaCluster(brokers: 1);
        foreach (var t in new[] { "drop_logs", "drop_metrics", "drop_spans" })
            cluster.CreateTopic(t, 1); // one partition keeps 5 MiB
        var (exit, _, stderr) = CliTests.Run(
            "kafka-produce",
            "-b",
            cluster.BootstrapServers,
            "--logs-topic",
            "drop_logs",
            "--metrics-topic",
            "drop_metrics",
            "--spans-topic",
            "drop_spans",
            "--warmup-minutes",
            "20"
        );
        output.WriteLine(stderr);
        Assert.True(exit == 0, stderr);
        Assert.Contains("warning: the broker no longer holds the oldest", stderr);
        Assert.Contains("kafka-dev --partitions 64", stderr);

        var (engineExit, _, engineErr) = CliTests.Run(
            "engine",
            "-b",
            cluster.BootstrapServers,
            "--group",
            "drop",
            "--idle-exit",
            "1",
            "--topic",
            "drop_logs=LokiProto",
            "--topic",
            "drop_metrics=RemoteWrite",
            "--topic",
            "drop_spans=OtlpTracesProto"
        );
        Assert.True(engineExit == 0, engineErr);
        // a fresh group: it will never see them
        Assert.Contains("warning: the broker no longer holds the oldest", engineErr);
    }

    [Fact]
    public void APortInUseIsOneLineNamingTheSetting()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (exit, _, stderr) = CliTests.Run("gateway", "-b", UnreachableBroker(), "--listen", $"127.0.0.1:{port}");
        Assert.Equal(3, exit);
        Assert.Contains(
            $"cannot listen on 127.0.0.1:{port}: the port is already in use; "
                + "choose another with --listen (setting Gateway:Listen)",
            stderr
        );
        Assert.DoesNotContain("   at ", stderr);

        var (demoExit, _, demoErr) = CliTests.Run(
            "demo",
            "--http",
            port.ToString(),
            "--warmup-minutes",
            "1",
            "--fault-minutes",
            "1"
        );
        Assert.Equal(3, demoExit);
        Assert.Contains("the port is already in use; choose another with --http", demoErr);
        Assert.DoesNotContain("   at ", demoErr);
    }
}
