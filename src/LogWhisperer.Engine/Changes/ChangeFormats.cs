using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LogWhisperer.Changes;

/// <summary>
/// Reads change records in the formats deploy tooling emits, recognised by their shape:
/// <list type="bullet">
/// <item>generic JSON <c>{"time", "service", "kind", "version", "description"}</c> (optional <c>fromVersion</c>,
/// <c>cluster</c>; time ISO 8601 or Unix ms; kind rollout/deploy, config, scale or anything else);</item>
/// <item>Kubernetes events as kubernetes-event-exporter writes them (a core/v1 Event with <c>involvedObject</c>):
/// a Deployment's <c>ScalingReplicaSet</c> "Scaled up replica set NAME-HASH" is a rollout when the replica set is
/// new for that deployment, a scaling when it is not; version from the <c>app.kubernetes.io/version</c> or
/// <c>version</c> label when the exporter added labels, else the pod-template hash;</item>
/// <item>Flux notification-controller events (<c>reportingController</c>, <c>involvedObject</c>,
/// <c>metadata.revision</c>): each "Deployment/NS/NAME configured" in the message is a rollout, each
/// "ConfigMap/NS/NAME configured" a config change;</item>
/// <item>Argo CD notifications whose webhook body carries the Application (<c>{"app": {…}}</c> or the Application
/// itself): a sync of the application (named as its service) from the previous history revision to the new one.</item>
/// </list>
/// A record that is valid JSON but not a change (other Kubernetes event reasons) gives no change and a reason;
/// a record that cannot be read throws <see cref="FormatException"/>.
/// </summary>
internal sealed class ChangeDecoder(string defaultCluster)
{
    private readonly Dictionary<(string Cluster, string Deployment), string> _replicaSets = [];

    /// <summary>Deployments whose current replica set is remembered. Past it the memory starts again: the next
    /// scaling event of each deployment then counts as a rollout once.</summary>
    public const int MaxDeployments = 100_000;
    private static readonly Regex ScaledUp = new(
        @"Scaled up replica set (?<rs>\S+) to (?<n>\d+)",
        RegexOptions.Compiled
    );
    private static readonly Regex FluxObject = new(
        @"(?<kind>Deployment|StatefulSet|DaemonSet|ConfigMap|Secret)/(?<ns>[^/\s]+)/(?<name>[^\s,]+) (?<what>configured|created)",
        RegexOptions.Compiled
    );

    /// <summary>The changes in one JSON record (often one, none for an event that is not a change), or why
    /// none.</summary>
    public (IReadOnlyList<ChangeEvent> Changes, string? Ignored) Decode(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new FormatException("a change record is a JSON object");
            try
            {
                if (root.TryGetProperty("reportingController", out _) && root.TryGetProperty("involvedObject", out _))
                    return Flux(root);
                if (root.TryGetProperty("involvedObject", out _) && root.TryGetProperty("reason", out _))
                    return Kubernetes(root);
                if (root.TryGetProperty("app", out var app) && app.ValueKind == JsonValueKind.Object)
                    return ArgoCd(app, root);
                if (Str(root, "kind") == "Application" && root.TryGetProperty("status", out _))
                    return ArgoCd(root, root);
                return ([Generic(root)], null);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
            {
                throw new FormatException(e.Message);
            }
        }
    }

    private ChangeEvent Generic(JsonElement e)
    {
        var service = Str(e, "service") ?? throw new FormatException("generic change: no 'service'");
        if (!e.TryGetProperty("time", out var time))
            throw new FormatException("generic change: no 'time'");
        var kind = (Str(e, "kind") ?? "other").ToLowerInvariant() switch
        {
            "rollout" or "deploy" or "deployment" or "release" or "image" => ChangeKind.Rollout,
            "config" or "configuration" or "configmap" or "feature-flag" or "flag" => ChangeKind.Config,
            "scale" or "scaling" => ChangeKind.Scale,
            _ => ChangeKind.Other,
        };
        return new ChangeEvent(
            Time(time, "time"),
            Str(e, "cluster") ?? defaultCluster,
            service,
            kind,
            Str(e, "fromVersion"),
            Str(e, "version"),
            Str(e, "description"),
            "generic"
        );
    }

    private (IReadOnlyList<ChangeEvent>, string?) Kubernetes(JsonElement e)
    {
        var reason = Str(e, "reason") ?? "";
        var obj = e.GetProperty("involvedObject");
        string kind = Str(obj, "kind") ?? "",
            name = Str(obj, "name") ?? "";
        string cluster = Str(e, "clusterName") ?? defaultCluster;
        if (
            reason != "ScalingReplicaSet"
            || kind != "Deployment"
            || ScaledUp.Match(Str(e, "message") ?? "") is not { Success: true } m
        )
            return ([], $"Kubernetes event {reason} on {kind} is not a change");
        var time =
            FirstTime(e, "lastTimestamp", "eventTime", "firstTimestamp")
            ?? FirstTime(e.GetProperty("metadata"), "creationTimestamp")
            ?? throw new FormatException("Kubernetes event: no timestamp");
        string rs = m.Groups["rs"].Value;
        string hash = rs.StartsWith(name + "-", StringComparison.Ordinal) ? rs[(name.Length + 1)..] : rs;
        var key = (cluster, name);
        _replicaSets.TryGetValue(key, out var previous);
        if (previous is null && _replicaSets.Count >= MaxDeployments)
            _replicaSets.Clear();
        _replicaSets[key] = hash;
        string? version =
            obj.TryGetProperty("labels", out var labels) && labels.ValueKind == JsonValueKind.Object
                ? Str(labels, "app.kubernetes.io/version") ?? Str(labels, "version")
                : null;
        bool rollout = previous != hash;
        return (
            [
                new ChangeEvent(
                    time,
                    cluster,
                    name,
                    rollout ? ChangeKind.Rollout : ChangeKind.Scale,
                    rollout ? previous : null,
                    version ?? hash,
                    Str(e, "message"),
                    "kubernetes"
                ),
            ],
            null
        );
    }

    private (IReadOnlyList<ChangeEvent>, string?) Flux(JsonElement e)
    {
        var time = FirstTime(e, "timestamp") ?? throw new FormatException("Flux event: no timestamp");
        string? revision =
            e.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object
                ? Str(meta, "revision")
                : null;
        string message = Str(e, "message") ?? "";
        var changes = FluxObject
            .Matches(message)
            .Select(m =>
            {
                bool config = m.Groups["kind"].Value is "ConfigMap" or "Secret";
                string name = m.Groups["name"].Value;
                return new ChangeEvent(
                    time,
                    Str(e, "clusterName") ?? defaultCluster,
                    config ? ServiceOfConfig(name) : name,
                    config ? ChangeKind.Config : ChangeKind.Rollout,
                    null,
                    revision,
                    $"{m.Groups["kind"].Value}/{name} {m.Groups["what"].Value} by {Str(e, "reportingController")}",
                    "flux"
                );
            })
            .ToList();
        return changes.Count > 0
            ? (changes, null)
            : ([], $"Flux event {Str(e, "reason")} names no changed workload or ConfigMap");
    }

    private (IReadOnlyList<ChangeEvent>, string?) ArgoCd(JsonElement app, JsonElement envelope)
    {
        var name =
            Str(app.GetProperty("metadata"), "name")
            ?? throw new FormatException("Argo CD application: no metadata.name");
        var status = app.GetProperty("status");
        var op = status.TryGetProperty("operationState", out var o) ? o : default;
        var time =
            (op.ValueKind == JsonValueKind.Object ? FirstTime(op, "startedAt", "finishedAt") : null)
            ?? FirstTime(envelope, "time", "timestamp")
            ?? throw new FormatException("Argo CD application: no operationState.startedAt");
        string? to = status.TryGetProperty("sync", out var sync) ? Str(sync, "revision") : null,
            from = null;
        if (
            status.TryGetProperty("history", out var history)
            && history.ValueKind == JsonValueKind.Array
            && history.GetArrayLength() >= 2
        )
            from = Str(history[history.GetArrayLength() - 2], "revision");
        if (
            status.TryGetProperty("summary", out var summary)
            && summary.TryGetProperty("images", out var images)
            && images.GetArrayLength() > 0
            && images[0].GetString() is { } image
            && image.LastIndexOf(':') is var colon and > 0
        )
            to = image[(colon + 1)..];
        return (
            [
                new ChangeEvent(
                    time,
                    Str(envelope, "cluster") ?? defaultCluster,
                    name,
                    ChangeKind.Rollout,
                    Short(from),
                    Short(to),
                    "Argo CD sync",
                    "argocd"
                ),
            ],
            null
        );
    }

    /// <summary>adservice-config → adservice: ConfigMaps are usually named after the workload they configure.</summary>
    public static string ServiceOfConfig(string name)
    {
        foreach (var suffix in new[] { "-configmap", "-config", "-cm", "-env", "-settings" })
            if (name.EndsWith(suffix, StringComparison.Ordinal))
                return name[..^suffix.Length];
        return name;
    }

    private static string? Short(string? revision) =>
        revision is { Length: 40 } && revision.All(char.IsAsciiHexDigit) ? revision[..7] : revision;

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    private static long? FirstTime(JsonElement e, params string[] names)
    {
        foreach (var n in names)
            if (
                e.ValueKind == JsonValueKind.Object
                && e.TryGetProperty(n, out var v)
                && v.ValueKind != JsonValueKind.Null
            )
                return Time(v, n);
        return null;
    }

    private static long Time(JsonElement v, string name)
    {
        if (v.ValueKind == JsonValueKind.Number)
            return v.GetInt64();
        if (
            v.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(
                v.GetString(),
                CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
                out var t
            )
        )
            return t.ToUnixTimeMilliseconds();
        throw new FormatException($"'{name}' is not an ISO 8601 time or Unix milliseconds");
    }
}
