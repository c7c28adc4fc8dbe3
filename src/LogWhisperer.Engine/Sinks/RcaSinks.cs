using LogWhisperer.Explain;

namespace LogWhisperer.Sinks;

/// <summary>Where RCA events go (stdout, files, Kafka topics, alert routers).</summary>
public interface IRcaSink
{
    ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken);

    /// <summary>
    /// A window of <paramref name="cluster"/> ending at <paramref name="windowEnd"/> was scored and judged quiet
    /// (no event). Alert routers resolve the cluster's open incident here; plain event sinks ignore it.
    /// </summary>
    ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;
}

/// <summary>One JSON object per line (the event schema v1), flushed per event so consumers see it at once.</summary>
public sealed class JsonLinesRcaSink(TextWriter writer) : IRcaSink
{
    public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
    {
        await writer.WriteLineAsync(rca.ToJson().AsMemory(), cancellationToken);
        await writer.FlushAsync(cancellationToken);
    }
}

/// <summary>Keeps events in memory (evaluation, tests, the demo's summary), optionally forwarding them.</summary>
public sealed class CollectingRcaSink(IRcaSink? next = null) : IRcaSink
{
    private readonly List<RcaEvent> _events = [];

    public IReadOnlyList<RcaEvent> Events
    {
        get
        {
            lock (_events)
                return _events.ToArray();
        }
    }

    public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
    {
        lock (_events)
            _events.Add(rca);
        if (next is not null)
            await next.WriteAsync(rca, cancellationToken);
    }

    public ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken) =>
        next?.QuietAsync(cluster, windowEnd, cancellationToken) ?? ValueTask.CompletedTask;
}

/// <summary>Hands every event and quiet window to each sink in turn (the output topic first, then alert
/// routers).</summary>
public sealed class FanOutRcaSink(params IReadOnlyList<IRcaSink> sinks) : IRcaSink
{
    public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
    {
        foreach (var sink in sinks)
            await sink.WriteAsync(rca, cancellationToken);
    }

    public async ValueTask QuietAsync(string cluster, DateTimeOffset windowEnd, CancellationToken cancellationToken)
    {
        foreach (var sink in sinks)
            await sink.QuietAsync(cluster, windowEnd, cancellationToken);
    }
}
