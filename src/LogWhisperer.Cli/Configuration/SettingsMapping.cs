using LogWhisperer.Decode.Formats;
using LogWhisperer.Explain;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Sinks;
using LogWhisperer.Windowing;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Configuration;

/// <summary>From bound settings to the engine's own option types; checks that need more than one value's type.</summary>
internal static class SettingsMapping
{
    public static KafkaSettings ToKafkaSettings(this KafkaSection k)
    {
        if (string.IsNullOrWhiteSpace(k.BootstrapServers))
            throw new SettingsException($"setting 'Kafka:BootstrapServers' is required: --bootstrap, {SettingsLoader.EnvironmentPrefix}KAFKA__BOOTSTRAPSERVERS or the settings file");
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
        };
    }

    public static TimeSpan ShutdownTimeout(this HostSection h) => h.ShutdownTimeoutSeconds > 0 ? TimeSpan.FromSeconds(h.ShutdownTimeoutSeconds)
        : throw new SettingsException($"invalid value '{h.ShutdownTimeoutSeconds}' for setting 'Host:ShutdownTimeoutSeconds' (--shutdown-timeout): expected a number of seconds > 0");

    public static TimeSpan ConnectTimeout(this KafkaSection k) => k.ConnectTimeoutSeconds > 0 ? TimeSpan.FromSeconds(k.ConnectTimeoutSeconds)
        : throw new SettingsException($"invalid value '{k.ConnectTimeoutSeconds}' for setting 'Kafka:ConnectTimeoutSeconds' (--connect-timeout): expected a number of seconds > 0");

    public static ServiceWindowAssemblyOptions ToAssemblyOptions(this EngineSection e)
    {
        if (e.ServiceWindowGraceSeconds < 0 || e.ServiceWindowTimeoutSeconds < 0)
            throw new SettingsException("settings 'Engine:ServiceWindowGraceSeconds' and 'Engine:ServiceWindowTimeoutSeconds' must not be negative");
        return new ServiceWindowAssemblyOptions { Grace = TimeSpan.FromSeconds(e.ServiceWindowGraceSeconds), Timeout = TimeSpan.FromSeconds(e.ServiceWindowTimeoutSeconds) };
    }

    public static DecodeOptions ToDecodeOptions(this EngineSection e)
    {
        var decode = new DecodeOptions { DefaultCluster = e.Cluster };
        return e.ServiceLabels.Count > 0 ? decode with { ServiceLabels = e.ServiceLabels } : decode;
    }

    public static PipelineOptions ToPipelineOptions(this LogWhispererSettings s)
    {
        if (s.Engine.IncidentThreshold > 1) throw new SettingsException($"invalid value '{s.Engine.IncidentThreshold}' for setting 'Engine:IncidentThreshold': expected a probability between 0 and 1");
        var windows = new WindowOptions
        {
            SizeMs = (long)(s.Windows.SizeSeconds * 1000),
            HopMs = (long)(s.Windows.HopSeconds * 1000),
            MaxOutOfOrdernessMs = (long)(s.Windows.MaxOutOfOrdernessSeconds * 1000),
            AllowedLatenessMs = (long)(s.Windows.AllowedLatenessSeconds * 1000),
        };
        try { windows.Validate(); }
        catch (ArgumentException e) { throw new SettingsException($"invalid settings 'Windows:SizeSeconds' / 'Windows:HopSeconds': {e.Message}"); }
        return new PipelineOptions { Windows = windows, Explainer = new ExplainerOptions { IncidentThreshold = s.Engine.IncidentThreshold, Slos = s.Slo.ToObjectives() } };
    }

    /// <summary>One objective per service named under Slo:Availability or Slo:LatencyMs.</summary>
    public static IReadOnlyList<ServiceLevelObjective> ToObjectives(this SloSection s)
    {
        foreach (var (service, a) in s.Availability)
            if (a is <= 0 or >= 100) throw new SettingsException($"invalid value '{a}' for setting 'Slo:Availability:{service}': expected a percentage between 0 and 100, e.g. 99.9");
        if (s.LatencyTarget is <= 0 or >= 100) throw new SettingsException($"invalid value '{s.LatencyTarget}' for setting 'Slo:LatencyTarget': expected a percentage between 0 and 100");
        return s.Availability.Keys.Union(s.LatencyMs.Keys).Order(StringComparer.Ordinal)
            .Select(service => new ServiceLevelObjective(service, s.Availability.TryGetValue(service, out var a) ? a : null,
                s.LatencyMs.TryGetValue(service, out var l) ? l : null, s.LatencyTarget))
            .ToList();
    }

    /// <summary>The alert routing sinks the settings enable (none by default).</summary>
    public static AlertSinks BuildAlertSinks(this SinksSection s, ILoggerFactory loggers, IncidentsSection? incidents = null)
    {
        incidents ??= new IncidentsSection();
        if (incidents.ResolveAfterQuietWindows < 1) throw new SettingsException($"invalid value '{incidents.ResolveAfterQuietWindows}' for setting 'Incidents:ResolveAfterQuietWindows': expected 1 or more");
        if (incidents.ReopenWithinWindows < 0) throw new SettingsException($"invalid value '{incidents.ReopenWithinWindows}' for setting 'Incidents:ReopenWithinWindows': expected 0 or more");
        var delivery = new DeliveryOptions
        {
            Retries = s.Delivery.Retries,
            InitialBackoff = TimeSpan.FromMilliseconds(s.Delivery.InitialBackoffMilliseconds),
            Timeout = s.Delivery.TimeoutSeconds > 0 ? TimeSpan.FromSeconds(s.Delivery.TimeoutSeconds)
                : throw new SettingsException("invalid value '0' for setting 'Sinks:Delivery:TimeoutSeconds': expected a number > 0"),
        };
        var log = loggers.CreateLogger("LogWhisperer.Sinks");
        var sinks = new AlertSinks(new IncidentOptions { ResolveAfterQuietWindows = incidents.ResolveAfterQuietWindows, ReopenWithinWindows = incidents.ReopenWithinWindows, SimilarIncidents = incidents.SimilarIncidents },
            new IncidentStore(incidents.StoreDirectory, incidents.StoreCapacity), incidents.StoreDirectory);
        if (HttpUrl(s.Alertmanager.Url, "Sinks:Alertmanager:Url", isBase: true) is { } am)
            sinks.Add(new AlertmanagerSink(am, delivery, HttpUrl(s.Alertmanager.GeneratorUrl, "Sinks:Alertmanager:GeneratorUrl")?.ToString(), log));
        if (HttpUrl(s.Webhook.Url, "Sinks:Webhook:Url") is { } hook)
            sinks.Add(new WebhookSink(hook, delivery with { Headers = s.Webhook.Headers, BearerToken = s.Webhook.BearerToken }, log));
        if (HttpUrl(s.Slack.WebhookUrl, "Sinks:Slack:WebhookUrl") is { } slack)
            sinks.Add(new SlackSink(slack, delivery, log));
        if (s.Opsgenie.ApiKey is { Length: > 0 } key)
            sinks.Add(new OpsgenieSink(HttpUrl(s.Opsgenie.Url, "Sinks:Opsgenie:Url", isBase: true)!, key, delivery, log));
        return sinks;
    }

    /// <param name="isBase">API paths are appended to it: it gets a trailing slash, or Uri would drop its last segment.</param>
    private static Uri? HttpUrl(string? text, string key, bool isBase = false)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        // The value is not echoed: these URLs can carry credentials (Slack's path is its secret).
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new SettingsException($"invalid value for setting '{key}': expected an absolute http:// or https:// URL");
        return isBase && !url.AbsolutePath.EndsWith('/') ? new Uri(url + "/") : url;
    }
}
