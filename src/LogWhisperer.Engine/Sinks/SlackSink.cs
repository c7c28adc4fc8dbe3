using System.Globalization;
using System.Text.Json.Nodes;
using LogWhisperer.Explain;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Sinks;

/// <summary>
/// Posts to a Slack incoming webhook: one message when an incident opens (text for notifications, blocks in
/// mrkdwn for the channel), one when it resolves. Not one per window: a channel is read by people.
/// </summary>
public sealed class SlackSink(
    Uri webhookUrl,
    DeliveryOptions delivery,
    ILogger? log = null,
    HttpMessageHandler? handler = null
) : IHttpRcaSink
{
    /// <summary>Slack's limit for the text of a section block.</summary>
    private const int SectionTextLimit = 3000;
    private readonly IncidentFeed _incidents = new();

    public HttpDelivery Delivery { get; } = new("slack", delivery, log, handler);

    public ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken) =>
        Send(_incidents.OnEvent(rca), cancellationToken);

    public ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken) =>
        Send(_incidents.OnQuiet(cluster, windowEnd), cancellationToken);

    /// <summary>A message when an incident opens and when it resolves; updates stay quiet (a channel is read by
    /// people).</summary>
    private async ValueTask Send(IReadOnlyList<IncidentNotice> notices, CancellationToken cancellationToken)
    {
        foreach (var n in notices)
            if (n.State == IncidentInfo.Resolved)
                await Post(Resolved(n), cancellationToken);
            else if (n.State == IncidentInfo.Opened)
                await Post(Opened(n.Latest), cancellationToken);
    }

    private Task<bool> Post(JsonObject message, CancellationToken cancellationToken) =>
        Delivery.PostJsonAsync(webhookUrl, message.ToJsonString(), cancellationToken);

    internal static JsonObject Opened(RcaEvent rca)
    {
        var top = rca.Candidates[0];
        var others = string.Join(
            ", ",
            rca.Candidates.Skip(1)
                .Take(2)
                .Select(c => string.Create(CultureInfo.InvariantCulture, $"{Escape(c.Service)} ({c.Score:P0})"))
        );
        var facts = string.Create(
            CultureInfo.InvariantCulture,
            $"*Root cause:* `{Escape(top.Service)}` ({top.Score:P0})\n*Likely fault:* {Escape(rca.FaultType.Kind)} ({rca.FaultType.Confidence:P0})\n*Incident probability:* {rca.IncidentProbability:P0}"
        );
        if (others.Length > 0)
            facts += "\n*Next candidates:* " + others;
        if (rca.Verdict is { IsInconclusive: true } v)
            facts += "\n*Inconclusive:* " + string.Join(" or ", v.Hypotheses!.Select(h => Escape(h.Service)));
        if (rca.Urgency is { } u)
            facts += string.Create(
                CultureInfo.InvariantCulture,
                $"\n*Urgency:* {u.Severity} (SLO burn rate {u.BurnRate:0.#})"
            );
        return new JsonObject
        {
            ["text"] = ":rotating_light: " + Escape(AlertmanagerSink.Summary(rca)),
            ["blocks"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "header",
                    ["text"] = new JsonObject
                    {
                        ["type"] = "plain_text",
                        ["text"] = Truncate($"Incident in {rca.Cluster}: {top.Service}", 150),
                    },
                },
                Section(facts),
                Section(Escape(SecretMasker.Mask(rca.Explanation))),
                new JsonObject
                {
                    ["type"] = "context",
                    ["elements"] = new JsonArray(
                        new JsonObject
                        {
                            ["type"] = "mrkdwn",
                            ["text"] = string.Create(
                                CultureInfo.InvariantCulture,
                                $"cluster `{Escape(rca.Cluster)}` · window {rca.WindowStart:u} – {rca.WindowEnd:HH:mm:ss} · event `{Escape(rca.Id)}`"
                            ),
                        }
                    ),
                }
            ),
        };
    }

    internal static JsonObject Resolved(IncidentNotice incident) =>
        new()
        {
            ["text"] = string.Create(
                CultureInfo.InvariantCulture,
                $":white_check_mark: Resolved: incident in {Escape(incident.Cluster)} with root cause `{Escape(incident.Service)}` (since {incident.First.WindowStart:u}, last seen {incident.Latest.WindowEnd:u})"
            ),
        };

    private static JsonObject Section(string mrkdwn) =>
        new()
        {
            ["type"] = "section",
            ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = Truncate(mrkdwn, SectionTextLimit) },
        };

    /// <summary>Slack's three control characters; everything else in mrkdwn is plain text.</summary>
    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    public void Dispose() => Delivery.Dispose();
}
