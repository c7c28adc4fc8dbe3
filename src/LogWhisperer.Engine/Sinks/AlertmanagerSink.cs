using System.Text.Json.Nodes;
using LogWhisperer.Explain;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Sinks;

/// <summary>
/// Pushes incidents to Prometheus Alertmanager (API v2, <c>POST /api/v2/alerts</c>, an array of postable
/// alerts), so its routing, grouping, silences and receivers apply to LogWhisperer's verdicts. Every event of
/// an incident re-sends its alert (Alertmanager expires alerts not re-sent within resolve_timeout); when the
/// incident resolves (see <see cref="IncidentFeed"/>) the alert is re-sent with endsAt = now, which resolves it.
/// </summary>
public sealed class AlertmanagerSink : IHttpRcaSink
{
    public const string AlertName = "LogWhispererRootCause";

    private readonly Uri _alertsUrl;
    private readonly string? _generatorUrl;
    private readonly IncidentFeed _incidents = new();
    private readonly TimeProvider _clock;

    public HttpDelivery Delivery { get; }

    /// <param name="alertmanagerUrl">Alertmanager's base URL, e.g. http://alertmanager:9093.</param>
    /// <param name="generatorUrl">Link back to LogWhisperer in each alert (e.g. the dashboard); the event id is
    /// appended as ?event=.</param>
    public AlertmanagerSink(
        Uri alertmanagerUrl,
        DeliveryOptions delivery,
        string? generatorUrl = null,
        ILogger? log = null,
        TimeProvider? clock = null,
        HttpMessageHandler? handler = null
    )
    {
        _alertsUrl = new Uri(alertmanagerUrl, "api/v2/alerts");
        _generatorUrl = generatorUrl;
        _clock = clock ?? TimeProvider.System;
        Delivery = new HttpDelivery("alertmanager", delivery, log, handler);
    }

    public ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken) =>
        Send(_incidents.OnEvent(rca), cancellationToken);

    public ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken) =>
        Send(_incidents.OnQuiet(cluster, windowEnd), cancellationToken);

    private async ValueTask Send(IReadOnlyList<IncidentNotice> notices, CancellationToken cancellationToken)
    {
        if (notices.Count == 0)
            return;
        var alerts = new JsonArray();
        foreach (var n in notices)
            alerts.Add(Alert(n, n.State == IncidentInfo.Resolved ? _clock.GetUtcNow() : null));
        await Delivery.PostJsonAsync(_alertsUrl, alerts.ToJsonString(), cancellationToken);
    }

    /// <summary>The postable alert of an incident; its labels (its identity) come from the event that opened
    /// it.</summary>
    internal JsonObject Alert(IncidentNotice incident, DateTimeOffset? endsAt)
    {
        var first = incident.First;
        var latest = incident.Latest;
        var top = latest.Candidates[0];
        var alert = new JsonObject
        {
            ["labels"] = new JsonObject
            {
                ["alertname"] = AlertName,
                ["cluster"] = incident.Cluster,
                ["service"] = incident.Service,
                ["fault_kind"] = first.FaultType.Kind,
                ["severity"] = AlertSeverity.Of(first).Label,
            },
            ["annotations"] = new JsonObject
            {
                ["summary"] = Summary(latest),
                ["description"] = SecretMasker.Mask(latest.Explanation),
                ["event_id"] = latest.Id,
                ["incident_id"] = incident.Id,
                ["root_cause_score"] = top.Score.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture),
            },
            ["startsAt"] = first.WindowStart,
        };
        // Alertmanager rejects an alert that ends before it starts (replayed event time can lie ahead of the wall
        // clock).
        if (endsAt is { } end)
            alert["endsAt"] = end < first.WindowStart ? first.WindowStart : end;
        if (_generatorUrl is { Length: > 0 } g)
            alert["generatorURL"] = $"{g}{(g.Contains('?') ? '&' : '?')}event={Uri.EscapeDataString(latest.Id)}";
        return alert;
    }

    /// <summary>One line for people: the root cause, the likely fault, and how sure the model is.</summary>
    internal static string Summary(RcaEvent rca) =>
        string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"{rca.Candidates[0].Service} is the likely root cause of "
                + $"an incident in {rca.Cluster} ({rca.FaultType.Kind}, "
                + $"{rca.Candidates[0].Score:P0})"
        );

    public void Dispose() => Delivery.Dispose();
}

/// <summary>
/// How loudly to page, shared by the alert sinks so they agree: from the SLO burn rate when SLOs are set (an
/// incident that burns no error budget is a warning, never a page), else from the model's incident probability.
/// </summary>
internal readonly record struct AlertSeverity(string Label, string OpsgeniePriority)
{
    public static AlertSeverity Of(RcaEvent rca) =>
        rca.Urgency is { } urgency
            ? urgency.Severity != Urgency.Page
                ? new("warning", "P4")
                : urgency.BurnRate >= 10
                    ? new("critical", "P1")
                    : new("critical", "P2")
            : rca.IncidentProbability switch
            {
                >= 0.9 => new("critical", "P1"),
                >= 0.75 => new("critical", "P2"),
                >= 0.6 => new("warning", "P3"),
                _ => new("warning", "P4"),
            };
}
