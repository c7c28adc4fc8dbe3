using LogWhisperer.Scoring;

namespace LogWhisperer.Explain;

/// <summary>
/// How a fault most plausibly travelled from the root cause to the loudest symptom: the path up the call
/// graph (callee → caller) whose hops the model attended to most (maximum product of attention weights,
/// found with Dijkstra on -log attention).
/// </summary>
internal static class PropagationPath
{
    /// <returns>Node indices from <paramref name="root"/> to <paramref name="symptom"/> with each hop's attention, or
    /// null if unreachable.</returns>
    public static (int[] Nodes, double[] Attention)? Find(ScoredSnapshot scored, int root, int symptom)
    {
        var s = scored.Snapshot;
        int n = s.NodeCount;
        var sources = s.EdgeSources.ToArray();
        var targets = s.EdgeTargets.ToArray();
        var cost = Enumerable.Repeat(double.PositiveInfinity, n).ToArray();
        var previous = Enumerable.Repeat(-1, n).ToArray();
        var via = new int[n];
        var queue = new PriorityQueue<int, double>();
        cost[root] = 0;
        queue.Enqueue(root, 0);
        while (queue.TryDequeue(out int node, out double c))
        {
            if (c > cost[node])
                continue;
            if (node == symptom)
                break;
            for (int j = 0; j < targets.Length; j++)
            {
                if (targets[j] != node)
                    continue; // edge caller → node: the effect travels to the caller
                int caller = sources[j];
                double next = c - Math.Log(Math.Max(1e-6, scored.CallerAttention[j]));
                if (next < cost[caller])
                {
                    cost[caller] = next;
                    previous[caller] = node;
                    via[caller] = j;
                    queue.Enqueue(caller, next);
                }
            }
        }
        if (double.IsPositiveInfinity(cost[symptom]) || symptom == root)
            return null;
        var path = new List<int>();
        var attention = new List<double>();
        for (int v = symptom; v != root; v = previous[v])
        {
            path.Add(v);
            attention.Add(scored.CallerAttention[via[v]]);
        }
        path.Add(root);
        path.Reverse();
        attention.Reverse();
        return (path.ToArray(), attention.ToArray());
    }
}
