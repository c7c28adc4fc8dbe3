using LogWhisperer.Telemetry;

namespace LogWhisperer.Features.Traces;

/// <summary>
/// Attributes each trace's end-to-end time to the services on its critical path: walking back from a span's
/// end, the child that finished last before the cursor is on the path (recursively); the gaps in between are the
/// span's own critical time. Client spans are folded into their callee's server span when present (the
/// network time stays with the caller). Returns milliseconds per service, summed over the traces given.
/// </summary>
internal static class CriticalPath
{
    public static Dictionary<string, double> Attribute(IEnumerable<SpanRecord> spans)
    {
        var result = new Dictionary<string, double>();
        foreach (var trace in spans.GroupBy(s => s.TraceId))
        {
            var byId = new Dictionary<string, SpanRecord>();
            foreach (var s in trace)
                byId[s.SpanId] = s;
            var children = trace
                .Where(s => s.ParentSpanId is not null && byId.ContainsKey(s.ParentSpanId))
                .GroupBy(s => s.ParentSpanId!)
                .ToDictionary(g => g.Key, g => g.OrderByDescending(End).ToList());
            foreach (var root in trace.Where(s => s.ParentSpanId is null || !byId.ContainsKey(s.ParentSpanId)))
                Walk(root, End(root), children, result, depth: 0);
        }
        return result;
    }

    private static double End(SpanRecord s) => s.TimestampMs + s.DurationMs;

    private static void Walk(
        SpanRecord span,
        double cursor,
        Dictionary<string, List<SpanRecord>> children,
        Dictionary<string, double> result,
        int depth
    )
    {
        double own = 0;
        cursor = Math.Min(cursor, End(span));
        if (depth < 64 && children.TryGetValue(span.SpanId, out var kids))
            foreach (var child in kids) // latest end first
            {
                if (End(child) > cursor + 1e-9 || child.TimestampMs < span.TimestampMs - 1e-9)
                    continue;
                own += cursor - End(child);
                Walk(child, End(child), children, result, depth + 1);
                cursor = child.TimestampMs;
            }
        own += Math.Max(0, cursor - span.TimestampMs);
        result[span.Service] = result.GetValueOrDefault(span.Service) + own;
    }
}
