using System.CommandLine;
using LogWhisperer.Decode.Formats;
using Microsoft.Extensions.Configuration;

namespace LogWhisperer.Cli.Configuration;

/// <summary>A command-line option that overrides one setting (the highest-precedence configuration source).</summary>
internal sealed record SettingOverride(Option Option, string Key, Func<ParseResult, IEnumerable<KeyValuePair<string, string?>>> Read)
{
    public static SettingOverride Value(string key, string name, string description, params string[] aliases)
    {
        var option = new Option<string?>(name, aliases) { Description = description };
        return new(option, key, p => p.GetValue(option) is { } v ? [new(key, v)] : []);
    }

    public static SettingOverride Flag(string key, string name, string description)
    {
        var option = new Option<bool>(name) { Description = description };
        return new(option, key, p => p.GetValue(option) ? [new(key, "true")] : []);
    }

    /// <summary>Repeatable NAME=VALUE pairs into a map setting.</summary>
    /// <param name="normalize">Turns a value as users write it on the command line into the setting's spelling.</param>
    public static SettingOverride Map(string key, string name, string description, string[]? aliases = null, Func<string, string>? normalize = null)
    {
        var option = new Option<string[]>(name, aliases ?? []) { Description = description };
        return new(option, key, p => (p.GetValue(option) ?? []).Select(pair =>
        {
            int eq = pair.IndexOf('=');
            // Not echoed: the value of a librdkafka property may be a password.
            if (eq <= 0) throw new SettingsException($"{name} takes NAME=VALUE pairs; one of them has no '=' (not shown: it may hold a secret)");
            var value = pair[(eq + 1)..];
            return new KeyValuePair<string, string?>(key + ":" + pair[..eq], normalize?.Invoke(value) ?? value);
        }));
    }

    /// <summary>loki-json, otlp_traces_proto → LokiJson, OtlpTracesProto (unknown names stay as written, for the error).</summary>
    public static string FormatName(string value) =>
        Enum.GetNames<TelemetryFormat>().FirstOrDefault(n => string.Equals(n, value.Replace("-", "").Replace("_", ""), StringComparison.OrdinalIgnoreCase)) ?? value;

    /// <summary>Repeatable values into a list setting.</summary>
    public static SettingOverride List(string key, string name, string description)
    {
        var option = new Option<string[]>(name) { Description = description };
        return new(option, key, p => (p.GetValue(option) ?? []).Select((v, i) => new KeyValuePair<string, string?>($"{key}:{i}", v)));
    }
}

/// <summary>
/// The configuration options of a command (--config, --set, --log-level) plus its setting overrides, and
/// the loading of its settings from them. The overrides lists are also what the reference documents.
/// </summary>
internal sealed class SettingsOptions
{
    private readonly Option<string?> _config = new("--config") { Description = $"Settings file (JSON, like appsettings.json; default: {SettingsLoader.DefaultFile} in the current directory, if present)" };
    private readonly Option<string[]> _set = new("--set") { Description = "Override any setting, KEY=VALUE, repeatable (e.g. --set Windows:SizeSeconds=60); see `logwhisperer config reference`" };

    public IReadOnlyList<SettingOverride> Overrides { get; }

    private SettingsOptions(IReadOnlyList<SettingOverride> overrides) =>
        Overrides = [.. overrides, SettingOverride.Value("Logging:LogLevel:Default", "--log-level", "Log level: Trace, Debug, Information, Warning, Error, Critical, None"),
            SettingOverride.Value("Host:ShutdownTimeoutSeconds", "--shutdown-timeout", "On SIGTERM or Ctrl-C, drain for at most this many seconds, then abort")];

    public static SettingsOptions ForEngine() => new(
    [
        SettingOverride.Value("Kafka:BootstrapServers", "--bootstrap", "Kafka bootstrap servers (host:port,…)", "-b"),
        SettingOverride.Map("Kafka:Client", "--kafka-config", "librdkafka property key=value, repeatable (security.protocol, sasl.mechanism, sasl.username, ssl.ca.location, …)", ["-X"]),
        SettingOverride.Value("Kafka:GroupId", "--group", "Consumer group id"),
        SettingOverride.Map("Kafka:InputTopics", "--topic", $"Input topic=format, repeatable (formats: {string.Join(", ", Enum.GetNames<TelemetryFormat>())})", normalize: SettingOverride.FormatName),
        SettingOverride.Value("Kafka:OutputTopic", "--output-topic", "Topic for RCA events (CloudEvents JSON, keyed by cluster)"),
        SettingOverride.Value("Kafka:DeadLetterTopic", "--dead-letter-topic", "Topic for undecodable input"),
        SettingOverride.Value("Kafka:SnapshotsTopic", "--snapshots-topic", "Also publish every graph snapshot (Arrow IPC) here"),
        SettingOverride.Value("Kafka:IdleExitSeconds", "--idle-exit", "Stop after this many seconds with all input read (batch runs)"),
        SettingOverride.Value("Kafka:ServiceWindowsTopic", "--service-windows-topic", "Two-stage topology: topic of per-(service, window) parts"),
        SettingOverride.Value("Engine:Stage", "--stage", "single (the whole engine), or a stage of the two-stage topology: window or score"),
        SettingOverride.Value("Kafka:CommitLagMinutes", "--commit-lag-minutes", "Keep this much event time uncommitted, to rebuild baselines exactly after a restart"),
        SettingOverride.Value("Kafka:ConnectTimeoutSeconds", "--connect-timeout", "Retry an unreachable broker for this many seconds at start, then exit with code 3"),
        .. EngineOverrides(),
        .. SinkOverrides(),
    ]);

    public static SettingsOptions ForPull() => new(
    [
        SettingOverride.Value("Pull:LokiUrl", "--loki", "Loki base URL: pull logs from its HTTP API"),
        SettingOverride.Value("Pull:LogQl", "--logql", "LogQL stream selector of the logs to pull, e.g. '{namespace=\"shop\"}'"),
        SettingOverride.Flag("Pull:LokiTail", "--loki-tail", "Follow Loki's tail WebSocket instead of polling query_range"),
        SettingOverride.Value("Pull:PrometheusUrl", "--prometheus", "Prometheus base URL: pull metrics (query_range) and discover the call graph"),
        SettingOverride.Map("Pull:Queries", "--query", "Metric name=PromQL, repeatable (replaces the default queries)"),
        SettingOverride.Value("Pull:From", "--from", "Start of the pull, ISO 8601 (default: --lookback before now)"),
        SettingOverride.Value("Pull:LookbackMinutes", "--lookback", "Without --from, start this many minutes before now"),
        SettingOverride.Value("Pull:Until", "--until", "Stop at this time, ISO 8601 (default: follow the present)"),
        SettingOverride.Value("Pull:StepSeconds", "--step", "Event time fetched per request, seconds"),
        SettingOverride.Value("Pull:TopologyRefreshSeconds", "--topology-refresh", "Refresh the call graph from Prometheus every this many seconds (0 = off)"),
        .. EngineOverrides(),
        .. SinkOverrides(),
    ]);

    /// <summary>What the commands that run the whole engine share (engine, pull): records' identity, model, outputs.</summary>
    public static IEnumerable<SettingOverride> EngineOverrides() =>
    [
        SettingOverride.Value("Engine:Cluster", "--cluster", "Cluster for records that carry no cluster label"),
        SettingOverride.List("Engine:ServiceLabels", "--service-label", "Label naming a record's service, in order of preference, repeatable"),
        SettingOverride.Value("Engine:Model", "--model", "Model file (default: the model shipped with LogWhisperer)", "-m"),
        SettingOverride.Value("Engine:Device", "--device", "auto (CUDA when available), cpu or cuda"),
        SettingOverride.Flag("Engine:Print", "--print", "Also print RCA events as JSON lines on stdout"),
        SettingOverride.Value("Dashboard:Http", "--http", "Serve the live dashboard, its JSON/SSE API and /metrics at PORT or HOST:PORT (loopback when only a port is given)", "--dashboard"),
        SettingOverride.Value("Dashboard:BearerToken", "--http-token", "Require this bearer token on the dashboard's API and /metrics"),
    ];

    /// <summary>The alert routing options, shared by engine and demo.</summary>
    public static IEnumerable<SettingOverride> SinkOverrides() =>
    [
        SettingOverride.Value("Sinks:Alertmanager:Url", "--alertmanager", "Send incidents to this Alertmanager (base URL, API v2); resolved when they end"),
        SettingOverride.Value("Sinks:Webhook:Url", "--webhook", "POST every RCA event (v1 JSON) to this URL"),
        SettingOverride.Value("Sinks:Slack:WebhookUrl", "--slack-webhook", "Slack incoming-webhook URL"),
        SettingOverride.Value("Sinks:Opsgenie:Url", "--opsgenie-url", "Opsgenie API base URL"),
        SettingOverride.Value("Sinks:Opsgenie:ApiKey", "--opsgenie-key", "Opsgenie API integration key (enables the Opsgenie sink)"),
    ];

    public static SettingsOptions ForDemo() => new([.. SinkOverrides()]);

    public static SettingsOptions ForGateway() => new(
    [
        SettingOverride.Value("Kafka:BootstrapServers", "--bootstrap", "Kafka bootstrap servers", "-b"),
        SettingOverride.Map("Kafka:Client", "--kafka-config", "librdkafka property key=value, repeatable", ["-X"]),
        SettingOverride.Value("Gateway:Listen", "--listen", "host:port to listen on; loopback unless told otherwise (0.0.0.0:3100 to expose)"),
        SettingOverride.Value("Gateway:TlsCertificatePath", "--tls-cert", "TLS certificate, PEM (with --tls-key); or configure Kestrel:Endpoints:Https in appsettings.json"),
        SettingOverride.Value("Gateway:TlsKeyPath", "--tls-key", "TLS private key, PEM"),
        SettingOverride.Value("Gateway:RateLimitPerSecond", "--rate-limit", "Requests per second per client, 0 = unlimited (429 with Retry-After above)"),
        SettingOverride.Value("Gateway:BearerToken", "--bearer-token", "Require Authorization: Bearer <token> (default: the LOGWHISPERER_GATEWAY_TOKEN environment variable, if set)"),
        SettingOverride.Value("Gateway:MaxRequestBytes", "--max-request-bytes", "Largest request body accepted (413 above)"),
        SettingOverride.Value("Gateway:DeliveryTimeoutSeconds", "--delivery-timeout", "Seconds a request waits for Kafka's acknowledgement before a 503 with Retry-After"),
    ]);

    public void AddTo(Command command)
    {
        command.Options.Add(_config);
        command.Options.Add(_set);
        foreach (var o in Overrides) command.Options.Add(o.Option);
    }

    public (LogWhispererSettings Settings, IConfiguration Configuration) Load(ParseResult parse)
    {
        var overrides = (parse.GetValue(_set) ?? []).Select(pair =>
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new SettingsException($"--set '{pair}' must be written KEY=VALUE");
            return new KeyValuePair<string, string?>(pair[..eq], pair[(eq + 1)..]);
        }).ToList();
        foreach (var o in Overrides) overrides.AddRange(o.Read(parse)); // dedicated options win over --set
        return SettingsLoader.Load(parse.GetValue(_config), overrides);
    }
}
