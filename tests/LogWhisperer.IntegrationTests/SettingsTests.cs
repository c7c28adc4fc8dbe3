using System.Collections;
using Confluent.Kafka;
using LogWhisperer.Cli.Configuration;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Kafka;

namespace LogWhisperer.Tests;

/// <summary>Configuration: sources and their precedence, errors for unknown or invalid settings, the generated
/// reference, secrets.</summary>
[Collection(SeveralEnginesCollection.Name)] // SecretsAreNeverLogged runs the engine and a broker
public class SettingsTests
{
    private static readonly Hashtable NoEnvironment = [];

    private static (LogWhispererSettings Settings, Microsoft.Extensions.Configuration.IConfiguration) Load(
        string? file,
        IDictionary environment,
        params (string Key, string Value)[] cli
    ) => SettingsLoader.Load(file, cli.Select(c => new KeyValuePair<string, string?>(c.Key, c.Value)), environment);

    private static string SettingsFile(string json)
    {
        var path = Path.Combine(TestData.TempDir(), "appsettings.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void CommandLineBeatsEnvironmentBeatsFileBeatsDefaults()
    {
        var file = SettingsFile(
            """
            { "Kafka": { "GroupId": "from-file", "OutputTopic": "file-topic", "Client": { "security.protocol": "SASL_SSL" },
                         "InputTopics": { "logs": "LokiJson" } },
              "Windows": { "SizeSeconds": 60, "HopSeconds": 60 }, "Engine": { "Device": "cpu" } }
            """
        );
        var env = new Hashtable
        {
            ["LOGWHISPERER_KAFKA__GROUPID"] = "from-env",
            ["LOGWHISPERER_WINDOWS__SIZESECONDS"] = "120",
            ["LOGWHISPERER_KAFKA__CLIENT__sasl.username"] = "rca",
            ["PATH"] = "/usr/bin", // unprefixed variables are not settings
        };
        var (s, _) = Load(file, env, ("Kafka:GroupId", "from-cli"), ("Kafka:BootstrapServers", "k:9092"));
        Assert.Equal("from-cli", s.Kafka.GroupId); // CLI > env > file
        Assert.Equal(120, s.Windows.SizeSeconds); // env > file
        Assert.Equal(60, s.Windows.HopSeconds); // file > default
        Assert.Equal("file-topic", s.Kafka.OutputTopic);
        Assert.Equal("logwhisperer_dead_letters", s.Kafka.DeadLetterTopic); // default
        Assert.Equal(DeviceChoice.Cpu, s.Engine.Device); // enums bind case-insensitively
        Assert.Equal(
            new Dictionary<string, string> { ["security.protocol"] = "SASL_SSL", ["sasl.username"] = "rca" },
            s.Kafka.Client
        );
        var kafka = s.Kafka.ToKafkaSettings();
        Assert.Equal(
            new Dictionary<string, TelemetryFormat> { ["logs"] = TelemetryFormat.LokiJson },
            kafka.InputTopics
        );
        Assert.Equal(120_000, s.ToPipelineOptions().Windows.SizeMs);

        // Without the CLI the environment wins; without both the file; without all three the defaults.
        Assert.Equal("from-env", Load(file, env).Settings.Kafka.GroupId);
        Assert.Equal("from-file", Load(file, NoEnvironment).Settings.Kafka.GroupId);
        var defaults = Load(null, NoEnvironment).Settings;
        Assert.Equal("logwhisperer", defaults.Kafka.GroupId);
        Assert.Equal(KafkaSettings.DefaultInputTopics, new KafkaSettings { BootstrapServers = "x" }.InputTopics);
        Assert.Equal(
            KafkaSettings.DefaultInputTopics,
            Load(null, NoEnvironment, ("Kafka:BootstrapServers", "k:9092")).Settings.Kafka.ToKafkaSettings().InputTopics
        );
        // The gateway's token variable of earlier versions still works.
        Assert.Equal(
            "tok",
            Load(null, new Hashtable { ["LOGWHISPERER_GATEWAY_TOKEN"] = "tok" }).Settings.Gateway.BearerToken
        );
    }

    [Theory]
    [InlineData(
        "Kafka:Bootstrap",
        "x",
        "unknown setting 'Kafka:Bootstrap'; valid keys under 'Kafka': Kafka:BootstrapServers, Kafka:GroupId"
    )]
    [InlineData(
        "Kafak:GroupId",
        "x",
        "unknown setting 'Kafak'; valid keys: Kafka, Pull, Engine, "
            + "Windows, Sinks, Gateway, Dashboard, Incidents, Slo, Logging"
    )]
    [InlineData(
        "Sinks:Slack:Url",
        "http://x",
        "unknown setting 'Sinks:Slack:Url'; valid keys under 'Sinks:Slack': Sinks:Slack:WebhookUrl"
    )]
    [InlineData(
        "Windows:SizeSeconds",
        "half a minute",
        "invalid value 'half a minute' for setting 'Windows:SizeSeconds': expected a number ≥ 0"
    )]
    [InlineData(
        "Sinks:Delivery:Retries",
        "-1",
        "invalid value '-1' for setting 'Sinks:Delivery:Retries': expected a whole number ≥ 0"
    )]
    [InlineData(
        "Engine:Device",
        "gpu",
        "invalid value 'gpu' for setting 'Engine:Device': expected one of Auto, Cpu, Cuda"
    )]
    [InlineData("Engine:Print", "yes", "invalid value 'yes' for setting 'Engine:Print': expected true or false")]
    [InlineData(
        "Kafka:InputTopics:logs",
        "Syslog",
        "invalid value 'Syslog' for setting 'Kafka:InputTopics:logs': expected one of LokiJson, LokiProto"
    )]
    [InlineData(
        "Logging:LogLevel:Default",
        "Loud",
        "invalid value 'Loud' for setting 'Logging:LogLevel:Default': expected one of Trace, Debug, Information"
    )]
    [InlineData("Kafka:GroupId:Name", "x", "setting 'Kafka:GroupId' takes a single value (text), not a section")]
    public void UnknownOrInvalidSettingsAreRejectedNamingTheKeyAndWhatIsValid(string key, string value, string message)
    {
        var e = Assert.Throws<SettingsException>(() => Load(null, NoEnvironment, (key, value)));
        Assert.StartsWith(message, e.Message);
        // The same from the environment and from a file.
        Assert.StartsWith(
            message,
            Assert
                .Throws<SettingsException>(() =>
                    Load(null, new Hashtable { ["LOGWHISPERER_" + key.Replace(":", "__")] = value })
                )
                .Message
        );
    }

    [Fact]
    public void SemanticChecksNameTheirKeys()
    {
        Assert.Contains(
            "'Kafka:BootstrapServers' is required",
            Assert.Throws<SettingsException>(() => Load(null, NoEnvironment).Settings.Kafka.ToKafkaSettings()).Message
        );
        Assert.Contains(
            "'Windows:SizeSeconds'",
            Assert
                .Throws<SettingsException>(() =>
                    Load(null, NoEnvironment, ("Windows:HopSeconds", "45")).Settings.ToPipelineOptions()
                )
                .Message
        );
        Assert.Contains(
            "'Engine:IncidentThreshold'",
            Assert
                .Throws<SettingsException>(() =>
                    Load(null, NoEnvironment, ("Engine:IncidentThreshold", "2")).Settings.ToPipelineOptions()
                )
                .Message
        );
        var loggers = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        Assert.Contains(
            "'Sinks:Alertmanager:Url'",
            Assert
                .Throws<SettingsException>(() =>
                    Load(null, NoEnvironment, ("Sinks:Alertmanager:Url", "alertmanager:9093"))
                        .Settings.Sinks.BuildAlertSinks(loggers)
                )
                .Message
        );
        Assert.Contains(
            "'Sinks:Alertmanager:GeneratorUrl'",
            Assert
                .Throws<SettingsException>(() =>
                    Load(
                        null,
                        NoEnvironment,
                        ("Sinks:Alertmanager:Url", "http://am:9093"),
                        ("Sinks:Alertmanager:GeneratorUrl", "dashboard")
                    )
                        .Settings.Sinks.BuildAlertSinks(loggers)
                )
                .Message
        );
        Assert.Contains(
            "not found",
            Assert.Throws<SettingsException>(() => Load("/nonexistent/lw.json", NoEnvironment)).Message
        );
        Assert.Contains(
            "not valid JSON",
            Assert.Throws<SettingsException>(() => Load(SettingsFile("{ \"Kafka\": "), NoEnvironment)).Message
        );
    }

    [Fact]
    public void EnabledSinksFollowTheSettings()
    {
        using var none = Load(null, NoEnvironment)
            .Settings.Sinks.BuildAlertSinks(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        Assert.Empty(none.Sinks);
        using var all = Load(
            null,
            NoEnvironment,
            ("Sinks:Alertmanager:Url", "http://am:9093"),
            ("Sinks:Webhook:Url", "https://hooks.example/x"),
            ("Sinks:Slack:WebhookUrl", "https://hooks.slack.com/services/T/B/X"),
            ("Sinks:Opsgenie:ApiKey", "k")
        )
            .Settings.Sinks.BuildAlertSinks(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        Assert.Equal(
            ["AlertmanagerSink", "WebhookSink", "SlackSink", "OpsgenieSink"],
            all.Sinks.Select(s => s.GetType().Name)
        );
    }

    [Fact]
    public void CommittedReferenceIsTheGeneratedOne()
    {
        var committed = File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "configuration.md"));
        Assert.True(
            committed == SettingsReference.Markdown(),
            "docs/configuration.md is stale: run `logwhisperer config reference > docs/configuration.md`"
        );
        // Every setting is documented with its default, and the CLI prints the same text.
        foreach (var setting in Setting.All)
            Assert.Contains($"| `{setting.Key}` |", committed);
        Assert.Contains("| `Kafka:GroupId` | text | logwhisperer |", committed);
        var (exit, stdout, _) = CliTests.Run("config", "reference");
        Assert.Equal(0, exit);
        Assert.Equal(committed, stdout);
    }

    [Fact]
    public void CliExitsWith2OnUnknownOrInvalidSettings()
    {
        var (exit, _, stderr) = CliTests.Run("engine", "--set", "Kafka:Bootstrap=localhost:9092");
        Assert.Equal(2, exit);
        Assert.Contains("unknown setting 'Kafka:Bootstrap'; valid keys under 'Kafka': Kafka:BootstrapServers", stderr);
        (exit, _, stderr) = CliTests.Run("engine", "-b", "localhost:9092", "--device", "gpu");
        Assert.Equal(2, exit);
        Assert.Contains("invalid value 'gpu' for setting 'Engine:Device': expected one of Auto, Cpu, Cuda", stderr);
        (exit, _, stderr) = CliTests.Run("gateway", "-b", "localhost:9092", "--max-request-bytes", "lots");
        Assert.Equal(2, exit);
        Assert.Contains("'Gateway:MaxRequestBytes'", stderr);
        (exit, _, stderr) = CliTests.Run("engine");
        Assert.Equal(2, exit);
        Assert.Contains("'Kafka:BootstrapServers' is required", stderr);
    }

    /// <summary>The engine at Trace level, with every kind of credential set: none reaches the logs or the
    /// output.</summary>
    [Fact]
    public void SecretsAreNeverLogged()
    {
        using var cluster = new MockKafkaCluster(brokers: 1);
        using (
            var producer = new ProducerBuilder<Null, string>(
                new ProducerConfig { BootstrapServers = cluster.BootstrapServers }
            ).Build()
        )
        {
            // creates the topic; dead-lettered
            producer.Produce("secret_in", new Message<Null, string> { Value = "not a Loki push" });
            // Disposing a producer does not deliver what it still queues: without the flush the record was sometimes
            // never written, and the engine waited for it until the deadline.
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }
        string[] secrets =
        [
            "KAFKASECRET",
            "SSLKEYSECRET",
            "BEARERSECRET",
            "HEADERSECRET",
            "SLACKSECRET",
            "GENIESECRET",
        ];
        // Runs until told to stop: stopped (SIGTERM, a drain) once the bad record is dead-lettered — no idle time to
        // guess.
        using var engine = new CliProcess(
            "engine",
            "-b",
            cluster.BootstrapServers,
            "--group",
            "secrets",
            "--topic",
            "secret_in=loki-json",
            "--dead-letter-topic",
            "secret_dlq",
            "--log-level",
            "Trace",
            "-X",
            "sasl.password=KAFKASECRET",
            "-X",
            "ssl.key.password=SSLKEYSECRET",
            "-X",
            "debug=conf",
            "--webhook",
            "http://127.0.0.1:9/rca",
            "--set",
            "Sinks:Webhook:BearerToken=BEARERSECRET",
            "--set",
            "Sinks:Webhook:Headers:X-Api-Key=HEADERSECRET",
            "--slack-webhook",
            "https://hooks.example/services/SLACKSECRET",
            "--opsgenie-key",
            "GENIESECRET"
        );
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TestData.WaitUntil(
            () => engine.HasExited || ServiceLifecycleTests.MessagesIn(cluster, "secret_dlq") >= 1,
            TestData.Generous
        );
        Assert.True(
            ServiceLifecycleTests.MessagesIn(cluster, "secret_dlq") == 1,
            $"nothing dead-lettered after {clock.Elapsed.TotalSeconds:0} s:\n{engine.Stderr}"
        );
        engine.Signal("TERM");
        var exit = engine.WaitForExit(TimeSpan.FromMinutes(5));
        var stdout = "";
        var stderr = engine.Stderr;
        Assert.True(exit == 0, stderr);
        Assert.Contains("dbug: LogWhisperer.Settings[0] setting Kafka:Client = ", stderr); // the settings were logged…
        Assert.Contains("setting Sinks:Slack:WebhookUrl = ***", stderr);
        // librdkafka's config dump, through the log
        Assert.Contains("LogWhisperer.Sources.KafkaTelemetrySource[0] librdkafka CONF:", stderr);
        Assert.Contains("debug=conf, sasl.password=***, ssl.key.password=***", stderr);
        Assert.Contains("1 dead-lettered", stderr);
        foreach (var secret in secrets)
            Assert.DoesNotContain(secret, stdout + stderr); // …masked

        var (showExit, shown, _) = CliTests.Run(
            "config",
            "show",
            "-X",
            "sasl.password=KAFKASECRET",
            "--opsgenie-key",
            "GENIESECRET",
            "--group",
            "g"
        );
        Assert.Equal(0, showExit);
        Assert.Contains("Kafka:GroupId = g", shown);
        Assert.Contains("Sinks:Opsgenie:ApiKey = ***", shown);
        foreach (var secret in secrets)
            Assert.DoesNotContain(secret, shown);
    }
}
