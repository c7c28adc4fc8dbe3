using System.ComponentModel;

namespace LogWhisperer.Cli.Configuration;

/// <summary>Alert routing: where incidents and RCA events are sent, and how deliveries are retried.</summary>
internal sealed class SinksSection
{
    public AlertmanagerSection Alertmanager { get; set; } = new();
    public WebhookSection Webhook { get; set; } = new();
    public SlackSection Slack { get; set; } = new();
    public OpsgenieSection Opsgenie { get; set; } = new();
    public DeliverySection Delivery { get; set; } = new();
}

internal sealed class AlertmanagerSection
{
    [Description(
        "Alertmanager base URL (http://alertmanager:9093): incidents become LogWhispererRootCause alerts, "
            + "resolved when the incident ends."
    )]
    [CliOption("--alertmanager", CliCommands.Alerting)]
    public string? Url { get; set; }

    [Description(
        "Link back to LogWhisperer in each alert's generatorURL (e.g. the dashboard); the event id is "
            + "appended as ?event=."
    )]
    public string? GeneratorUrl { get; set; }
}

internal sealed class WebhookSection
{
    [Description("POST every RCA event (v1 JSON) to this URL.")]
    [CliOption("--webhook", CliCommands.Alerting)]
    public string? Url { get; set; }

    [Description("Sent as Authorization: Bearer <token>.")]
    [Secret]
    public string? BearerToken { get; set; }

    [Description("Extra request headers, name → value. Never logged.")]
    [Secret]
    public Dictionary<string, string> Headers { get; set; } = [];
}

internal sealed class SlackSection
{
    [Description(
        "Slack incoming-webhook URL: a message when an incident opens and when it resolves. The URL is a "
            + "credential: never logged."
    )]
    [Secret]
    [CliOption("--slack-webhook", CliCommands.Alerting)]
    public string? WebhookUrl { get; set; }
}

internal sealed class OpsgenieSection
{
    [Description("Opsgenie API base URL (https://api.eu.opsgenie.com for the EU instance).")]
    [CliOption("--opsgenie-url", CliCommands.Alerting)]
    public string Url { get; set; } = "https://api.opsgenie.com";

    [Description(
        "Opsgenie API integration key; setting it enables the Opsgenie sink (alerts opened and closed per "
            + "incident)."
    )]
    [Secret]
    [CliOption("--opsgenie-key", CliCommands.Alerting)]
    public string? ApiKey { get; set; }
}

internal sealed class DeliverySection
{
    [Description("Further attempts of a failed alert/webhook delivery (5xx, 408, 429, connection errors, timeouts).")]
    public int Retries { get; set; } = 3;

    [Description("Wait before the first retry; doubled before each next one.")]
    public int InitialBackoffMilliseconds { get; set; } = 500;

    [Description("Timeout of one delivery attempt.")]
    public double TimeoutSeconds { get; set; } = 10;
}
