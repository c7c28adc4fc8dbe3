namespace LogWhisperer.Windowing;

/// <summary>
/// One service's share of a closed (cluster, window): its own statistics and the calls it made. The unit the
/// two-stage topology passes from the window stage to the scoring stage. Everything in it comes from that
/// service's own records — its server spans (self time and origin errors subtract its own client children),
/// its client spans (the edges it calls), its logs and metrics — so windows accumulated per service on
/// different engines merge into exactly the window one engine would have accumulated.
/// </summary>
/// <param name="Calls">The service's outgoing edges, by callee.</param>
internal sealed record ServiceWindow(
    string Cluster,
    long StartMs,
    long EndMs,
    string Service,
    ServiceWindowStats Stats,
    IReadOnlyDictionary<string, EdgeWindowStats> Calls
)
{
    /// <summary>Splits a window into one part per service that had records in it.</summary>
    public static List<ServiceWindow> Split(WindowAggregate window)
    {
        var calls = new Dictionary<string, Dictionary<string, EdgeWindowStats>>(StringComparer.Ordinal);
        foreach (var ((from, to), edge) in window.Edges)
        {
            if (!calls.TryGetValue(from, out var outgoing))
                calls[from] = outgoing = new Dictionary<string, EdgeWindowStats>(StringComparer.Ordinal);
            outgoing[to] = edge;
        }
        return window
            .Services.Select(s => new ServiceWindow(
                window.Cluster,
                window.StartMs,
                window.EndMs,
                s.Key,
                s.Value,
                calls.TryGetValue(s.Key, out var c) ? c : new Dictionary<string, EdgeWindowStats>()
            ))
            .ToList();
    }

    /// <summary>The window made of these parts (one per service, all of one cluster and window).</summary>
    public static WindowAggregate Merge(string cluster, long startMs, long endMs, IEnumerable<ServiceWindow> parts)
    {
        var services = new Dictionary<string, ServiceWindowStats>(StringComparer.Ordinal);
        var edges = new Dictionary<(string, string), EdgeWindowStats>();
        long records = 0;
        foreach (var part in parts)
        {
            if (part.Cluster != cluster || part.StartMs != startMs || part.EndMs != endMs)
                throw new ArgumentException(
                    $"service window {part.Cluster}/{part.StartMs}/{part.Service} is not part of {cluster}/{startMs}"
                );
            services.Add(part.Service, part.Stats);
            foreach (var (to, edge) in part.Calls)
                edges[(part.Service, to)] = edge;
            // Spans of other kinds (internal) count in a single engine's total but in no service's; nothing
            // downstream reads the total, the featurizer uses the per-service counts.
            records += part.Stats.Records;
        }
        return new WindowAggregate(cluster, startMs, endMs, services, edges, records);
    }
}
