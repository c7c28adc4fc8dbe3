using LogWhisperer.Telemetry;

namespace LogWhisperer.Features.Traces;

/// <summary>Latency and errors of one service (its server spans) or one edge (client spans caller → callee) in a
/// window.</summary>
internal sealed record LatencyStats(int Count, double P50Ms, double P95Ms, double P99Ms, double ErrorRatio);

/// <summary>What the traces of one window say, per service and per edge, plus the call paths seen.</summary>
internal sealed record TraceWindowFeatures(
    IReadOnlyDictionary<string, LatencyStats> Services,
    IReadOnlyDictionary<(string Caller, string Callee), LatencyStats> Edges,
    IReadOnlyDictionary<string, double> CriticalPathShare,
    float[] CallPathVector,
    IReadOnlyDictionary<string, int> CallPaths
);

/// <summary>
/// Encodes the spans of one window: exact per-service and per-edge latency percentiles and error ratios,
/// each service's share of the critical path (0..1 of all traces' end-to-end time), and the call paths
/// (root-to-leaf service chains such as <c>frontend&gt;checkoutservice&gt;paymentservice</c>) both counted and
/// folded into a fixed-size, L2-normalised vector (feature hashing) that <see cref="CallPathNovelty"/> compares
/// with normal windows.
/// </summary>
internal static class TraceWindowEncoder
{
    public const int PathVectorSize = 64;

    public static TraceWindowFeatures Encode(IReadOnlyCollection<SpanRecord> spans)
    {
        var services = spans
            .Where(s => s.Kind == SpanKind.Server)
            .GroupBy(s => s.Service)
            .ToDictionary(g => g.Key, g => Stats(g));
        var edges = spans
            .Where(s => s.Kind == SpanKind.Client && s.PeerService is not null)
            .GroupBy(s => (s.Service, s.PeerService!))
            .ToDictionary(g => g.Key, g => Stats(g));
        var critical = CriticalPath.Attribute(spans);
        double total = critical.Values.Sum();
        var share = critical.ToDictionary(p => p.Key, p => total > 0 ? p.Value / total : 0);
        var paths = CallPaths(spans);
        var vector = new float[PathVectorSize];
        foreach (var (path, count) in paths)
        {
            ulong h = 14695981039346656037UL;
            foreach (char c in path)
                h = (h ^ c) * 1099511628211UL;
            // signed hashing keeps collisions unbiased
            vector[(int)(h % PathVectorSize)] += (h >> 63) == 0 ? count : -count;
        }
        double norm = Math.Sqrt(vector.Sum(v => (double)v * v));
        if (norm > 0)
            for (int i = 0; i < vector.Length; i++)
                vector[i] = (float)(vector[i] / norm);
        return new TraceWindowFeatures(services, edges, share, vector, paths);
    }

    private static LatencyStats Stats(IEnumerable<SpanRecord> spans)
    {
        var d = spans.Select(s => s.DurationMs).Order().ToArray();
        int errors = spans.Count(s => s.IsError);
        return new LatencyStats(
            d.Length,
            Percentile(d, 0.5),
            Percentile(d, 0.95),
            Percentile(d, 0.99),
            d.Length == 0 ? 0 : (double)errors / d.Length
        );
    }

    /// <summary>Linear-interpolated percentile of sorted values (NaN when empty).</summary>
    public static double Percentile(double[] sorted, double q)
    {
        if (sorted.Length == 0)
            return double.NaN;
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos),
            hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /// <summary>Root-to-leaf chains of services (consecutive spans of one service collapse into one hop).</summary>
    public static Dictionary<string, int> CallPaths(IEnumerable<SpanRecord> spans)
    {
        var paths = new Dictionary<string, int>();
        foreach (var trace in spans.GroupBy(s => s.TraceId))
        {
            var byId = trace.GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
            var children = trace
                .Where(s => s.ParentSpanId is not null && byId.ContainsKey(s.ParentSpanId))
                .ToLookup(s => s.ParentSpanId!);
            foreach (var root in byId.Values.Where(s => s.ParentSpanId is null || !byId.ContainsKey(s.ParentSpanId)))
                Collect(root, [root.Service], children, paths);
        }
        return paths;
    }

    private static void Collect(
        SpanRecord span,
        List<string> chain,
        ILookup<string, SpanRecord> children,
        Dictionary<string, int> paths
    )
    {
        var kids = children[span.SpanId].ToList();
        // A client span whose callee emitted nothing (down, unreachable) still ends its path at the callee.
        if (kids.Count == 0)
        {
            var full =
                span.Kind == SpanKind.Client && span.PeerService is not null && chain[^1] != span.PeerService
                    ? [.. chain, span.PeerService]
                    : chain;
            string key = string.Join('>', full);
            paths[key] = paths.GetValueOrDefault(key) + 1;
            return;
        }
        foreach (var kid in kids)
        {
            bool hop = chain[^1] != kid.Service && chain.Count < 32;
            if (hop)
                chain.Add(kid.Service);
            Collect(kid, chain, children, paths);
            if (hop)
                chain.RemoveAt(chain.Count - 1);
        }
    }
}

/// <summary>
/// How unlike normal windows a window's call paths are: the cosine distance of its path vector from the
/// running mean of normal windows' vectors, and the share of its traces taking a path never seen before.
/// </summary>
internal sealed class CallPathNovelty
{
    private readonly float[] _mean = new float[TraceWindowEncoder.PathVectorSize];
    private readonly HashSet<string> _known = [];
    private int _normals;

    public void AddNormal(TraceWindowFeatures window)
    {
        _normals++;
        for (int i = 0; i < _mean.Length; i++)
            _mean[i] += (window.CallPathVector[i] - _mean[i]) / _normals;
        _known.UnionWith(window.CallPaths.Keys);
    }

    /// <returns>(cosine distance 0..2, share of traces on unseen paths 0..1); NaN without normal history.</returns>
    public (double Distance, double UnseenShare) Measure(TraceWindowFeatures window)
    {
        if (_normals == 0)
            return (double.NaN, double.NaN);
        double dot = 0,
            n1 = 0,
            n2 = 0;
        for (int i = 0; i < _mean.Length; i++)
        {
            dot += _mean[i] * window.CallPathVector[i];
            n1 += _mean[i] * _mean[i];
            n2 += window.CallPathVector[i] * (double)window.CallPathVector[i];
        }
        double distance = n1 > 0 && n2 > 0 ? 1 - dot / Math.Sqrt(n1 * n2) : double.NaN;
        int total = window.CallPaths.Values.Sum();
        double unseen =
            total == 0
                ? double.NaN
                : (double)window.CallPaths.Where(p => !_known.Contains(p.Key)).Sum(p => p.Value) / total;
        return (distance, unseen);
    }
}
