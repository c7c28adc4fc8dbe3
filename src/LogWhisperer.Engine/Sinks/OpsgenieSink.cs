using System.Globalization;
using System.Text.Json.Nodes;
using LogWhisperer.Explain;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Sinks;

/// <summary>
/// Opens and closes alerts through the Opsgenie Alert API v2. One alert per incident, deduplicated by its
/// alias (cluster + root-cause service): created when the incident opens, closed by alias
/// (<c>POST /v2/alerts/{alias}/close?identifierType=alias</c>) when a quiet window follows or the root cause moves.
/// </summary>
public sealed class OpsgenieSink : IHttpRcaSink
{
    /// <summary>Opsgenie truncates longer messages; we cut them ourselves so the end is ours.</summary>
    public const int MessageLimit = 130;
    public const int DescriptionLimit = 15000;

    private readonly Uri _api;
    private readonly IReadOnlyDictionary<string, string> _auth;
    private readonly IncidentFeed _incidents = new();

    public HttpDelivery Delivery { get; }

    /// <param name="apiUrl">https://api.opsgenie.com (or https://api.eu.opsgenie.com).</param>
    /// <param name="apiKey">An API integration key, sent as <c>Authorization: GenieKey …</c>; never logged.</param>
    public OpsgenieSink(
        Uri apiUrl,
        string apiKey,
        DeliveryOptions delivery,
        ILogger? log = null,
        HttpMessageHandler? handler = null
    )
    {
        _api = apiUrl;
        _auth = new Dictionary<string, string> { ["Authorization"] = "GenieKey " + apiKey };
        Delivery = new HttpDelivery("opsgenie", delivery, log, handler);
    }

    public ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken) =>
        Send(_incidents.OnEvent(rca), cancellationToken);

    public ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken) =>
        Send(_incidents.OnQuiet(cluster, windowEnd), cancellationToken);

    /// <summary>Created when an incident opens, closed when it resolves; updates are deduplicated by Opsgenie's alias
    /// anyway.</summary>
    private async ValueTask Send(IReadOnlyList<IncidentNotice> notices, CancellationToken cancellationToken)
    {
        foreach (var n in notices)
            if (n.State == IncidentInfo.Resolved)
                await Delivery.PostJsonAsync(
                    new Uri(
                        _api,
                        $"v2/alerts/{Uri.EscapeDataString(Alias(n.Cluster, n.Service))}/close?identifierType=alias"
                    ),
                    new JsonObject { ["source"] = "LogWhisperer", ["note"] = "Resolved: " + n.Reason }.ToJsonString(),
                    cancellationToken,
                    _auth
                );
            else if (n.State == IncidentInfo.Opened)
                await Delivery.PostJsonAsync(
                    new Uri(_api, "v2/alerts"),
                    Create(n.Latest).ToJsonString(),
                    cancellationToken,
                    _auth
                );
    }

    public static string Alias(string cluster, string service) => $"logwhisperer/{cluster}/{service}";

    internal static JsonObject Create(RcaEvent rca)
    {
        var top = rca.Candidates[0];
        var message = AlertmanagerSink.Summary(rca);
        var details = new JsonObject
        {
            ["cluster"] = rca.Cluster,
            ["service"] = top.Service,
            ["faultKind"] = rca.FaultType.Kind,
            ["rootCauseScore"] = top.Score.ToString("0.####", CultureInfo.InvariantCulture),
            ["incidentProbability"] = rca.IncidentProbability.ToString("0.####", CultureInfo.InvariantCulture),
            ["windowStart"] = rca.WindowStart.ToString("O", CultureInfo.InvariantCulture),
            ["eventId"] = rca.Id,
        };
        if (rca.Incident is { } incident)
            details["incidentId"] = incident.Id;
        return new JsonObject
        {
            ["message"] = message.Length <= MessageLimit ? message : message[..(MessageLimit - 1)] + "…",
            ["alias"] = Alias(rca.Cluster, top.Service),
            ["description"] = Truncate(SecretMasker.Mask(rca.Explanation), DescriptionLimit),
            ["priority"] = AlertSeverity.Of(rca).OpsgeniePriority,
            ["tags"] = new JsonArray(
                "logwhisperer",
                "cluster:" + rca.Cluster,
                "service:" + top.Service,
                "fault:" + rca.FaultType.Kind
            ),
            ["details"] = details,
            ["entity"] = top.Service,
            ["source"] = "LogWhisperer",
        };
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    public void Dispose() => Delivery.Dispose();
}
