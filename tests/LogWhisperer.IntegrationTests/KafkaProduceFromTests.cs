using System.Text.RegularExpressions;
using LogWhisperer.Kafka;

namespace LogWhisperer.Tests;

/// <summary>`chaos run` output fed into Kafka with `kafka-produce --from`, and read by the engine: every recorded
/// record arrives.</summary>
[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public class KafkaProduceFromTests
{
    private static long Number(string text, string pattern) =>
        long.Parse(Regex.Match(text, pattern).Groups[1].Value.Replace(",", ""));

    [Fact]
    public void WhatChaosRunRecordedReachesTheEngineThroughKafka()
    {
        var dir = TestData.TempDir();
        var (chaosExit, chaosOut, chaosErr) = CliTests.Run(
            "chaos",
            "run",
            "--minutes",
            "8",
            "--incidents",
            "1",
            "--out",
            dir
        );
        Assert.True(chaosExit == 0, chaosErr);
        long recorded = Number(chaosOut, @"chaos: ([\d,]+) records");

        using var cluster = new MockKafkaCluster(brokers: 1);
        foreach (var t in new[] { "rec_logs", "rec_metrics", "rec_spans" })
            cluster.CreateTopic(t, 64); // room for all of it (5 MiB per mock partition)
        var (exit, _, stderr) = CliTests.Run(
            "kafka-produce",
            "-b",
            cluster.BootstrapServers,
            "--from",
            dir,
            "--logs-topic",
            "rec_logs",
            "--metrics-topic",
            "rec_metrics",
            "--spans-topic",
            "rec_spans",
            "--key-by",
            "service"
        ); // one mesh over all partitions
        Assert.True(exit == 0, stderr);
        Assert.Equal(recorded, Number(stderr, @"([\d,]+) recorded record\(s\)"));
        Assert.DoesNotContain("warning", stderr);

        var (engineExit, _, engineErr) = CliTests.Run(
            "engine",
            "-b",
            cluster.BootstrapServers,
            "--group",
            "recorded",
            "--idle-exit",
            "2",
            "--topic",
            "rec_logs=LokiProto",
            "--topic",
            "rec_metrics=RemoteWrite",
            "--topic",
            "rec_spans=OtlpTracesProto"
        );
        Assert.True(engineExit == 0, engineErr);
        Assert.Equal(recorded, Number(engineErr, @"records  : ([\d,]+) in, 0 invalid"));
    }

    [Fact]
    public void ADirectoryWithoutRecordingsIsAClearError()
    {
        var (exit, _, stderr) = CliTests.Run("kafka-produce", "-b", "127.0.0.1:9", "--from", TestData.TempDir());
        Assert.Equal(2, exit);
        Assert.Contains("holds none of loki.jsonl, otlp.jsonl, metrics/*.prom", stderr);
    }
}
