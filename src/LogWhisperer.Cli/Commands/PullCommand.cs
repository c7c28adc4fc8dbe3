using System.CommandLine;
using System.Globalization;
using System.Linq.Expressions;
using LogWhisperer.Cli.Configuration;
using LogWhisperer.Cli.Dashboard;
using LogWhisperer.Features;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Sinks;
using LogWhisperer.Sources;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Commands;

/// <summary>
/// `pull`: the engine for teams without Kafka. Logs come from Loki (query_range or tail), metrics from Prometheus
/// (query_range), the call graph from Prometheus's istio_requests_total (refreshed, edges age out); all merged in
/// event-time order into the normal pipeline, with the same sinks as `engine`.
/// </summary>
internal static class PullCommand
{
    /// <summary>The series the featurizer reads, pulled raw: it computes rates and quantiles itself.</summary>
    public static readonly IReadOnlyDictionary<string, string> DefaultQueries = new[]
    {
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "kube_pod_container_status_restarts_total",
        "istio_requests_total",
        "istio_request_duration_milliseconds_bucket",
    }.ToDictionary(n => n, n => n);

    public static Command Create()
    {
        var settingsOptions = SettingsOptions.For(CliCommands.Pull);
        var command = new Command(
            "pull",
            "Run the engine without Kafka: pull logs from Loki and metrics and the call graph from Prometheus"
        );
        settingsOptions.AddTo(command);
        command.SetAction(
            (parse, _) =>
                CliSupport.Guard(async () =>
                {
                    var (config, configuration) = settingsOptions.Load(parse);
                    var pull = config.Pull;
                    var loki = Url(pull.LokiUrl, PullSetting(p => p.LokiUrl));
                    var prometheusUrl = Url(pull.PrometheusUrl, PullSetting(p => p.PrometheusUrl));
                    if (loki is null && prometheusUrl is null)
                    {
                        throw new SettingsException(
                            $"nothing to pull: set {PullSetting(p => p.LokiUrl).Hint} "
                                + $"and/or {PullSetting(p => p.PrometheusUrl).Hint}"
                        );
                    }
                    var pullOptions = new PullOptions
                    {
                        Start =
                            Time(pull.From, PullSetting(p => p.From))
                            ?? DateTimeOffset.UtcNow - TimeSpan.FromMinutes(pull.LookbackMinutes),
                        End = Time(pull.Until, PullSetting(p => p.Until)),
                        Step = Positive(pull.StepSeconds, PullSetting(p => p.StepSeconds)),
                        Delay = TimeSpan.FromSeconds(pull.DelaySeconds),
                    };
                    if (pull.LokiTail && pullOptions.End is not null)
                    {
                        var tail = PullSetting(p => p.LokiTail).Option!.Name;
                        throw new SettingsException(
                            $"setting {PullSetting(p => p.Until).Named} needs query_range: "
                                + $"Loki's tail follows the present (drop {tail} for a batch run)"
                        );
                    }
                    var decode = config.Engine.ToDecodeOptions();
                    var pipelineOptions = config.ToPipelineOptions();
                    return await Hosting.ServiceHost.RunAsync(
                        config.Host.ShutdownTimeout(),
                        async life =>
                        {
                            using var loggers = EngineLogging.Create(configuration);
                            EngineLogging.LogSettings(
                                loggers.CreateLogger("LogWhisperer.Settings"),
                                config,
                                "Pull",
                                "Engine",
                                "Windows",
                                "Sinks"
                            );
                            using var alerts = config.Sinks.BuildAlertSinks(loggers, config.Incidents);
                            var scorer = CliSupport.LoadScorer(
                                config.Engine.Model ?? CliSupport.DefaultModelPath,
                                config.Engine.Device.ToString().ToLowerInvariant()
                            );
                            var err = Console.Error;
                            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
                            var deadLetters = new MemoryDeadLetterSink();

                            var sources = new List<ITelemetrySource>();
                            LokiTailSource? tail = null;
                            if (loki is not null)
                            {
                                if (pull.LokiTail)
                                    sources.Add(
                                        tail = new LokiTailSource(
                                            loki,
                                            pull.LogQl,
                                            decode,
                                            new LokiTailOptions { Start = pullOptions.Start },
                                            deadLetters
                                        )
                                    );
                                else
                                    sources.Add(
                                        new LokiPullSource(http, loki, pull.LogQl, pullOptions, decode, pull.LokiLimit)
                                    );
                            }
                            PrometheusClient? prometheus = prometheusUrl is null
                                ? null
                                : new PrometheusClient(http, prometheusUrl);
                            if (prometheus is not null)
                            {
                                var resolution = Positive(
                                    pull.ResolutionSeconds,
                                    PullSetting(p => p.ResolutionSeconds)
                                );
                                var queries = pull.Queries.Count > 0 ? pull.Queries : DefaultQueries;
                                sources.Add(
                                    new PrometheusPullSource(prometheus, queries, pullOptions, decode, resolution)
                                );
                            }

                            // The call graph: refreshed in the background; the featurizer asks for the current edges
                            // every window.
                            ServiceGraphDiscovery? topology = null;
                            var featurizer = new Featurizer(pipelineOptions.Features);
                            if (prometheus is not null && pull.TopologyRefreshSeconds > 0)
                            {
                                var refresh = TimeSpan.FromSeconds(pull.TopologyRefreshSeconds);
                                topology = new ServiceGraphDiscovery(
                                    refresh * Math.Max(1, pull.TopologyMaxAgeRefreshes)
                                );
                                featurizer = new Featurizer(pipelineOptions.Features)
                                {
                                    LiveEdges = () =>
                                        topology
                                            .Edges(DateTimeOffset.UtcNow)
                                            .Select(e => (e.Source, e.Target))
                                            .Distinct()
                                            .ToList(),
                                };
                            }

                            err.WriteLine(
                                $"LogWhisperer pull: {(loki is null ? "" : $"logs from {loki} ({(pull.LokiTail ? "tail" : "query_range")}, {pull.LogQl}) ")}{(prometheus is null ? "" : $"metrics{(topology is null ? "" : " and topology")} from {prometheusUrl} ")}"
                                    + $"from {pullOptions.Start:O} {(pullOptions.End is { } end ? $"until {end:O}" : "following the present")}"
                            );
                            using var metrics = new EngineMetrics();
                            using var otlp = Observability.EngineTelemetry.StartOtlp(metrics);
                            pipelineOptions = pipelineOptions with { Metrics = metrics };
                            var feed = new DashboardFeed();
                            await using var web = await DashboardCli.StartAsync(
                                config.Dashboard.Http,
                                config.Dashboard.BearerToken,
                                feed,
                                metrics,
                                err,
                                incidents: alerts
                            );
                            var outputs = new List<IRcaSink>();
                            if (config.Engine.Print)
                                outputs.Add(new JsonLinesRcaSink(Console.Out));
                            if (web is not null)
                                outputs.Add(feed);
                            // Events are counted by the metrics; with no output chosen they only go to the alert sinks
                            // (if any).
                            var sink = alerts.After(outputs.Count == 1 ? outputs[0] : new FanOutRcaSink(outputs));
                            var pipeline = new RcaPipeline(
                                pipelineOptions,
                                featurizer,
                                scorer,
                                sink,
                                deadLetters,
                                onScored: alerts.OnScored(web is null ? null : feed.OnScored)
                            );

                            using var stopTopology = CancellationTokenSource.CreateLinkedTokenSource(life.Abort);
                            var discovery = topology is null
                                ? Task.CompletedTask
                                : RunTopology(
                                    topology,
                                    prometheus!,
                                    TimeSpan.FromSeconds(pull.TopologyRefreshSeconds),
                                    loggers.CreateLogger<ServiceGraphDiscovery>(),
                                    stopTopology.Token
                                );
                            try
                            {
                                var merged =
                                    sources.Count == 1
                                        ? sources[0]
                                        : new EventTimeMerge(sources, idleAfter: TimeSpan.FromSeconds(10));
                                await pipeline.RunAsync(merged, life.Stop, life.Abort);
                            }
                            finally
                            {
                                stopTopology.Cancel();
                                await discovery;
                            }
                            err.WriteLine(
                                $"events   : {metrics.RcaEvents} RCA event(s), "
                                    + $"{pipeline.Counters.QuietWindows} quiet window(s)"
                            );
                            err.WriteLine(
                                $"records  : {pipeline.Decode.RecordsIn:N0} in, {pipeline.Counters.Invalid} invalid, "
                                    + $"{pipeline.Counters.LateDropped} late-dropped, {deadLetters.Total} dead-lettered"
                            );
                            if (topology is not null)
                                err.WriteLine(
                                    $"topology : {topology.Edges(DateTimeOffset.UtcNow).Count} edge(s) known at exit"
                                );
                            if (tail is not null)
                                err.WriteLine(
                                    $"loki tail: {tail.DroppedEntries} entries dropped by Loki, "
                                        + $"{tail.Reconnects} reconnect(s), {tail.Undecodable} undecodable message(s)"
                                );
                            foreach (var line in alerts.Summary())
                                err.WriteLine($"alerts   : {line}");
                            foreach (var stage in pipeline.Stages)
                                err.WriteLine($"  {stage}");
                            return ExitCodes.Ok;
                        }
                    );
                })
        );
        return command;
    }

    private static async Task RunTopology(
        ServiceGraphDiscovery topology,
        PrometheusClient prometheus,
        TimeSpan interval,
        ILogger log,
        CancellationToken ct
    )
    {
        try
        {
            await topology.RunAsync(prometheus, interval, log, ct);
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is TaskCanceledException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            log.LogError("topology discovery stopped: {Reason}", e.Message);
        }
    }

    private static Setting PullSetting(Expression<Func<PullSection, object?>> property) => Setting.Of(property);

    private static Uri? Url(string? text, Setting setting)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw setting.Invalid(text, "an absolute http:// or https:// URL");
        return url.AbsolutePath.EndsWith('/') ? url : new Uri(url + "/"); // API paths are appended
    }

    private static DateTimeOffset? Time(string? text, Setting setting)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t
            : throw setting.Invalid(text, "an ISO 8601 time such as 2026-01-01T12:00:00Z");
    }

    private static TimeSpan Positive(double seconds, Setting setting) =>
        seconds > 0 ? TimeSpan.FromSeconds(seconds) : throw setting.Invalid(seconds, "a number of seconds > 0");
}
