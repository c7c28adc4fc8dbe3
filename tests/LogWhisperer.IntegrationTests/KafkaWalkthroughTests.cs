using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LogWhisperer.Evaluation;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;

namespace LogWhisperer.Tests;

/// <summary>
/// The Kafka walkthrough of docs/kafka.md as a user types it, every step a separate process: `kafka-dev` (the broker,
/// kept running), `kafka-produce` into it, `engine --idle-exit` against it, and kcat reading the RCA events
/// back. Every process has a timeout; the broker is killed in Dispose.
/// </summary>
[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public sealed class KafkaWalkthroughTests : IDisposable
{
    private readonly Process _broker;
    private readonly StringBuilder _brokerErr = new();
    private readonly string _bootstrap;

    public KafkaWalkthroughTests()
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestData.RepoRoot,
        };
        psi.ArgumentList.Add(TestData.CliDll);
        psi.ArgumentList.Add("kafka-dev");
        _broker = Process.Start(psi)!;
        // Drain stderr (librdkafka's log lines) so a full pipe can never block the broker.
        _broker.ErrorDataReceived += (_, e) =>
        {
            lock (_brokerErr)
                _brokerErr.AppendLine(e.Data);
        };
        _broker.BeginErrorReadLine();
        var line = _broker.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(60)) || string.IsNullOrEmpty(line.Result))
        {
            Dispose();
            throw new TimeoutException($"kafka-dev printed no bootstrap address: {_brokerErr}");
        }
        _bootstrap = line.Result.Trim();
    }

    public void Dispose()
    {
        if (!_broker.HasExited)
            _broker.Kill(entireProcessTree: true);
        _broker.WaitForExit(10_000);
        _broker.Dispose();
    }

    [Fact]
    public void BrokerProduceEngineAndKcatAsSeparateProcessesFindTheFault()
    {
        Assert.Matches(@"^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+)*$", _bootstrap);
        var produced = CliTests.Run(
            "kafka-produce",
            "-b",
            _bootstrap,
            "--fault",
            "CpuHog",
            "--service",
            "adservice",
            "--seed",
            "7"
        );
        Assert.True(produced.Exit == 0, produced.Err);
        Assert.Contains("written to", produced.Err);

        // A short session timeout: the group is joined (and the engine exits) sooner on the mock brokers.
        var engine = CliTests.Run(
            "engine",
            "-b",
            _bootstrap,
            "--idle-exit",
            "3",
            "-X",
            "session.timeout.ms=6000",
            "-X",
            "heartbeat.interval.ms=500"
        );
        Assert.True(engine.Exit == 0, engine.Err);
        Assert.Contains("0 undecodable", engine.Err);

        var lines = Kcat.Run(_bootstrap, "-C -t logwhisperer_rca -e -J")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        var events = lines
            .Select(l =>
            {
                using var envelope = JsonDocument.Parse(l);
                Assert.Equal("online-boutique", envelope.RootElement.GetProperty("key").GetString());
                return KafkaRcaSink.FromCloudEvent(
                    Encoding.UTF8.GetBytes(envelope.RootElement.GetProperty("payload").GetString()!)
                );
            })
            .ToList();
        long onset = new SimulationOptions().StartMs + 6 * 60_000L; // kafka-produce's default warm-up and fault length
        var fault = new Fault("adservice", FaultKind.CpuHog, onset, onset + 3 * 60_000L, 0.7);
        var report = EvaluationReport.Score([fault], events, 0);
        Assert.Equal(1, report.Incidents[0].Rank);
    }
}
