using LogWhisperer.Decode.Formats;
using LogWhisperer.Explain;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Sinks;
using LogWhisperer.Windowing;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Configuration;

/// <summary>From bound settings to the engine's own option types; checks that need more than one value's
/// type.</summary>
internal static class SettingsMapping
{
    public static KafkaSettings ToKafkaSettings(this KafkaSection k)
    {
        if (string.IsNullOrWhiteSpace(k.BootstrapServers))
            throw Setting.Of((KafkaSection x) => x.BootstrapServers).Required();
        return new KafkaSettings
        {
            BootstrapServers = k.BootstrapServers,
            GroupId = k.GroupId,
            InputTopics = k.InputTopics.Count == 0 ? KafkaSettings.DefaultInputTopics : k.InputTopics,
            OutputTopic = k.OutputTopic,
            DeadLetterTopic = k.DeadLetterTopic,
            SnapshotsTopic = string.IsNullOrEmpty(k.SnapshotsTopic) ? null : k.SnapshotsTopic,
            ServiceWindowsTopic = k.ServiceWindowsTopic,
            ClientConfig = k.Client,
            StopWhenIdle = k.IdleExitSeconds is { } s ? TimeSpan.FromSeconds(s) : null,
            CommitLag = TimeSpan.FromMinutes(k.CommitLagMinutes),
            PartitionStall =
                k.PartitionStallSeconds > 0
                    ? TimeSpan.FromSeconds(k.PartitionStallSeconds)
                    : throw Setting
                        .Of((KafkaSection x) => x.PartitionStallSeconds)
                        .Invalid(k.PartitionStallSeconds, "a number of seconds > 0"),
        };
    }

    public static TimeSpan ShutdownTimeout(this HostSection h) =>
        h.ShutdownTimeoutSeconds > 0
            ? TimeSpan.FromSeconds(h.ShutdownTimeoutSeconds)
            : throw Setting
                .Of((HostSection x) => x.ShutdownTimeoutSeconds)
                .Invalid(h.ShutdownTimeoutSeconds, "a number of seconds > 0");

    public static TimeSpan ConnectTimeout(this KafkaSection k) =>
        k.ConnectTimeoutSeconds > 0
            ? TimeSpan.FromSeconds(k.ConnectTimeoutSeconds)
            : throw Setting
                .Of((KafkaSection x) => x.ConnectTimeoutSeconds)
                .Invalid(k.ConnectTimeoutSeconds, "a number of seconds > 0");

    public static ServiceWindowAssemblyOptions ToAssemblyOptions(this EngineSection e)
    {
        if (e.ServiceWindowGraceSeconds < 0 || e.ServiceWindowTimeoutSeconds < 0)
        {
            var grace = Setting.Of((EngineSection x) => x.ServiceWindowGraceSeconds);
            var timeout = Setting.Of((EngineSection x) => x.ServiceWindowTimeoutSeconds);
            throw new SettingsException($"settings {grace.Named} and {timeout.Named} must not be negative");
        }
        return new ServiceWindowAssemblyOptions
        {
            Grace = TimeSpan.FromSeconds(e.ServiceWindowGraceSeconds),
            Timeout = TimeSpan.FromSeconds(e.ServiceWindowTimeoutSeconds),
        };
    }

    public static DecodeOptions ToDecodeOptions(this EngineSection e)
    {
        var decode = new DecodeOptions { DefaultCluster = e.Cluster };
        return e.ServiceLabels.Count > 0 ? decode with { ServiceLabels = e.ServiceLabels } : decode;
    }

    public static PipelineOptions ToPipelineOptions(this LogWhispererSettings s)
    {
        if (s.Engine.IncidentThreshold > 1)
        {
            throw Setting
                .Of((EngineSection x) => x.IncidentThreshold)
                .Invalid(s.Engine.IncidentThreshold, "a probability between 0 and 1");
        }
        var windows = new WindowOptions
        {
            SizeMs = (long)(s.Windows.SizeSeconds * 1000),
            HopMs = (long)(s.Windows.HopSeconds * 1000),
            MaxOutOfOrdernessMs = (long)(s.Windows.MaxOutOfOrdernessSeconds * 1000),
            AllowedLatenessMs = (long)(s.Windows.AllowedLatenessSeconds * 1000),
        };
        try
        {
            windows.Validate();
        }
        catch (ArgumentException e)
        {
            throw new SettingsException(
                $"invalid settings {Setting.Of((WindowsSection x) => x.SizeSeconds).Named} / "
                    + $"{Setting.Of((WindowsSection x) => x.HopSeconds).Named}: {e.Message}"
            );
        }
        return new PipelineOptions
        {
            Windows = windows,
            Explainer = new ExplainerOptions
            {
                IncidentThreshold = s.Engine.IncidentThreshold,
                Slos = s.Slo.ToObjectives(),
            },
        };
    }

    /// <summary>One objective per service named under Slo:Availability or Slo:LatencyMs.</summary>
    public static IReadOnlyList<ServiceLevelObjective> ToObjectives(this SloSection s)
    {
        foreach (var (service, a) in s.Availability)
        {
            if (a is <= 0 or >= 100)
            {
                var key = $"{Setting.Of((SloSection x) => x.Availability).Key}:{service}";
                throw new SettingsException(
                    $"invalid value '{a}' for setting '{key}': expected a percentage between 0 and 100, e.g. 99.9"
                );
            }
        }
        if (s.LatencyTarget is <= 0 or >= 100)
            throw Setting
                .Of((SloSection x) => x.LatencyTarget)
                .Invalid(s.LatencyTarget, "a percentage between 0 and 100");
        return s
            .Availability.Keys.Union(s.LatencyMs.Keys)
            .Order(StringComparer.Ordinal)
            .Select(service => new ServiceLevelObjective(
                service,
                s.Availability.TryGetValue(service, out var a) ? a : null,
                s.LatencyMs.TryGetValue(service, out var l) ? l : null,
                s.LatencyTarget
            ))
            .ToList();
    }

    /// <summary>The alert routing sinks the settings enable (none by default).</summary>
    public static AlertSinks BuildAlertSinks(
        this SinksSection s,
        ILoggerFactory loggers,
        IncidentsSection? incidents = null
    )
    {
        incidents ??= new IncidentsSection();
        if (incidents.ResolveAfterQuietWindows < 1)
        {
            throw Setting
                .Of((IncidentsSection x) => x.ResolveAfterQuietWindows)
                .Invalid(incidents.ResolveAfterQuietWindows, "1 or more");
        }
        if (incidents.ReopenWithinWindows < 0)
            throw Setting
                .Of((IncidentsSection x) => x.ReopenWithinWindows)
                .Invalid(incidents.ReopenWithinWindows, "0 or more");
        var delivery = new DeliveryOptions
        {
            Retries = s.Delivery.Retries,
            InitialBackoff = TimeSpan.FromMilliseconds(s.Delivery.InitialBackoffMilliseconds),
            Timeout =
                s.Delivery.TimeoutSeconds > 0
                    ? TimeSpan.FromSeconds(s.Delivery.TimeoutSeconds)
                    : throw Setting
                        .Of((DeliverySection x) => x.TimeoutSeconds)
                        .Invalid(s.Delivery.TimeoutSeconds, "a number > 0"),
        };
        var log = loggers.CreateLogger("LogWhisperer.Sinks");
        var sinks = new AlertSinks(
            new IncidentOptions
            {
                ResolveAfterQuietWindows = incidents.ResolveAfterQuietWindows,
                ReopenWithinWindows = incidents.ReopenWithinWindows,
                SimilarIncidents = incidents.SimilarIncidents,
            },
            new IncidentStore(incidents.StoreDirectory, incidents.StoreCapacity),
            incidents.StoreDirectory
        );
        if (HttpUrl(s.Alertmanager.Url, Setting.Of((AlertmanagerSection x) => x.Url), isBase: true) is { } am)
        {
            var generator = HttpUrl(s.Alertmanager.GeneratorUrl, Setting.Of((AlertmanagerSection x) => x.GeneratorUrl));
            sinks.Add(new AlertmanagerSink(am, delivery, generator?.ToString(), log));
        }
        if (HttpUrl(s.Webhook.Url, Setting.Of((WebhookSection x) => x.Url)) is { } hook)
            sinks.Add(
                new WebhookSink(
                    hook,
                    delivery with
                    {
                        Headers = s.Webhook.Headers,
                        BearerToken = s.Webhook.BearerToken,
                    },
                    log
                )
            );
        if (HttpUrl(s.Slack.WebhookUrl, Setting.Of((SlackSection x) => x.WebhookUrl)) is { } slack)
            sinks.Add(new SlackSink(slack, delivery, log));
        if (s.Opsgenie.ApiKey is { Length: > 0 } key)
        {
            var opsgenie = HttpUrl(s.Opsgenie.Url, Setting.Of((OpsgenieSection x) => x.Url), isBase: true)!;
            sinks.Add(new OpsgenieSink(opsgenie, key, delivery, log));
        }
        return sinks;
    }

    /// <param name="isBase">API paths are appended to it: it gets a trailing slash, or Uri would drop its last
    /// segment.</param>
    private static Uri? HttpUrl(string? text, Setting setting, bool isBase = false)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        // The value is not echoed: these URLs can carry credentials (Slack's path is its secret).
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new SettingsException(
                $"invalid value for setting {setting.Named}: expected an absolute http:// or https:// URL"
            );
        }
        return isBase && !url.AbsolutePath.EndsWith('/') ? new Uri(url + "/") : url;
    }
}
