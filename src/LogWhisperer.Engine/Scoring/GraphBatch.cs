using LogWhisperer.Features;
using LogWhisperer.Graph;
using LogWhisperer.Simulation;
using static TorchSharp.torch;

namespace LogWhisperer.Scoring;

/// <summary>
/// Many snapshots as one block-diagonal graph: nodes are stacked, edge indices offset per snapshot, and a
/// graph index maps each node to its snapshot. Each call edge is used in both directions (an effect travels
/// to callers, evidence travels back) and every node gets a self-loop; three role flags tell them apart.
/// </summary>
public sealed class GraphBatch : IDisposable
{
    public required Tensor NodeFeatures { get; init; } // [N, F]
    public required Tensor Source { get; init; } // [E'] int64
    public required Tensor Target { get; init; } // [E'] int64
    public required Tensor EdgeFeatures { get; init; } // [E', Fe]
    public required Tensor GraphIndex { get; init; } // [N] int64
    public required Tensor SelfLoop { get; init; } // [N] int64: the edge index of each node's self-loop
    public required int[] NodeOffsets { get; init; } // per graph, plus the total at the end
    public required int[] CallEdgeOffsets { get; init; } // where each graph's call edges start in Source/Target
    public required Tensor DenseIndex { get; init; } // [N] int64: position of each node in a [B, MaxNodes] layout
    public required int MaxNodes { get; init; }
    public int Graphs => NodeOffsets.Length - 1;
    public int Nodes => NodeOffsets[^1];

    /// <param name="useEdges">False leaves out the call edges (self-loops only): the edge-ablation baseline.</param>
    /// <param name="withheld">Per graph, evidence to zero out as if the deployment lacked it (training
    /// augmentation).</param>
    public static GraphBatch Collate(
        IReadOnlyList<GraphSnapshot> snapshots,
        Device device,
        bool useEdges = true,
        IReadOnlyList<EvidenceGroup?>? withheld = null
    )
    {
        int f = FeatureSchema.NodeFeatureCount,
            fe = FeatureSchema.EdgeFeatureCount,
            me = FeatureSchema.EdgeMeasurements;
        int nodes = snapshots.Sum(s => s.NodeCount),
            callEdges = useEdges ? snapshots.Sum(s => s.EdgeCount) : 0;
        int edges = 2 * callEdges + nodes;
        var x = new float[nodes * f];
        var src = new long[edges];
        var dst = new long[edges];
        var ea = new float[edges * fe];
        var graph = new long[nodes];
        var selfLoop = new long[nodes];
        var nodeOffsets = new int[snapshots.Count + 1];
        var edgeOffsets = new int[snapshots.Count + 1];
        int n0 = 0,
            e = 0;
        for (int g = 0; g < snapshots.Count; g++)
        {
            var s = snapshots[g];
            if (s.NodeCount == 0)
                throw new InvalidDataException($"snapshot {s.Cluster}@{s.WindowStartMs} has no nodes");
            if (s.SchemaVersion != FeatureSchema.Version)
                throw new InvalidDataException(
                    $"snapshot {s.Cluster}@{s.WindowStartMs} has feature schema '{s.SchemaVersion}', "
                        + $"the engine uses '{FeatureSchema.Version}'"
                );
            nodeOffsets[g] = n0;
            edgeOffsets[g] = e;
            for (int k = 0; k < f; k++)
            {
                var column = s.NodeFeature(k);
                for (int i = 0; i < s.NodeCount; i++)
                    x[(n0 + i) * f + k] = column[i];
            }
            for (int i = 0; i < s.NodeCount; i++)
                graph[n0 + i] = g;
            var sources = s.EdgeSources;
            var targets = s.EdgeTargets;
            int calls = useEdges ? s.EdgeCount : 0;
            // Call edges first (caller -> callee), so CallEdgeOffsets index them directly.
            for (int j = 0; j < calls; j++)
            {
                src[e + j] = n0 + sources[j];
                dst[e + j] = n0 + targets[j];
                src[e + calls + j] = n0 + targets[j];
                dst[e + calls + j] = n0 + sources[j];
                ea[(e + j) * fe + 3] = 1; // is_call
                ea[(e + calls + j) * fe + 4] = 1; // is_reverse
            }
            for (int k = 0; k < me && calls > 0; k++)
            {
                var column = s.EdgeFeature(k);
                for (int j = 0; j < calls; j++)
                    ea[(e + j) * fe + k] = ea[(e + calls + j) * fe + k] = column[j];
            }
            if (withheld?[g] is { } group)
            {
                foreach (int k in group.NodeFeatures)
                    for (int i = 0; i < s.NodeCount; i++)
                        x[(n0 + i) * f + k] = 0;
                foreach (int k in group.EdgeFeatures)
                    for (int j = 0; j < 2 * calls; j++)
                        ea[(e + j) * fe + k] = 0;
            }
            e += 2 * calls;
            for (int i = 0; i < s.NodeCount; i++, e++)
            {
                src[e] = dst[e] = n0 + i;
                ea[e * fe + 5] = 1;
                selfLoop[n0 + i] = e;
            } // is_self
            n0 += s.NodeCount;
        }
        nodeOffsets[^1] = n0;
        edgeOffsets[^1] = e;
        int maxNodes = snapshots.Max(s => s.NodeCount);
        var dense = new long[nodes];
        for (int g = 0; g < snapshots.Count; g++)
        for (int i = nodeOffsets[g]; i < nodeOffsets[g + 1]; i++)
            dense[i] = (long)g * maxNodes + (i - nodeOffsets[g]);
        return new GraphBatch
        {
            NodeFeatures = tensor(x, [nodes, f]).to(device),
            Source = tensor(src).to(device),
            Target = tensor(dst).to(device),
            EdgeFeatures = tensor(ea, [edges, fe]).to(device),
            GraphIndex = tensor(graph).to(device),
            SelfLoop = tensor(selfLoop).to(device),
            NodeOffsets = nodeOffsets,
            CallEdgeOffsets = edgeOffsets,
            DenseIndex = tensor(dense).to(device),
            MaxNodes = maxNodes,
        };
    }

    /// <summary>The same graphs with other node inputs (integrated gradients interpolates them).</summary>
    public GraphBatch WithNodeFeatures(Tensor nodeFeatures) =>
        new()
        {
            NodeFeatures = nodeFeatures,
            Source = Source,
            Target = Target,
            EdgeFeatures = EdgeFeatures,
            GraphIndex = GraphIndex,
            SelfLoop = SelfLoop,
            NodeOffsets = NodeOffsets,
            CallEdgeOffsets = CallEdgeOffsets,
            DenseIndex = DenseIndex,
            MaxNodes = MaxNodes,
        };

    /// <summary>Training targets: the root node's global index (-1 when quiet), the fault kind, the incident
    /// flag.</summary>
    public static (long[] Root, long[] Kind, float[] Incident) Targets(
        IReadOnlyList<GraphSnapshot> snapshots,
        int[] nodeOffsets
    )
    {
        var root = new long[snapshots.Count];
        var kind = new long[snapshots.Count];
        var incident = new float[snapshots.Count];
        for (int g = 0; g < snapshots.Count; g++)
        {
            var label = snapshots[g].Label ?? SnapshotLabel.Quiet;
            int idx = label.RootService is null ? -1 : snapshots[g].IndexOf(label.RootService);
            root[g] = idx < 0 ? -1 : nodeOffsets[g] + idx;
            kind[g] = label.Kind is { } k ? (long)k : -1;
            incident[g] = idx >= 0 ? 1 : 0;
        }
        return (root, kind, incident);
    }

    public void Dispose()
    {
        NodeFeatures.Dispose();
        Source.Dispose();
        Target.Dispose();
        EdgeFeatures.Dispose();
        GraphIndex.Dispose();
        SelfLoop.Dispose();
        DenseIndex.Dispose();
    }

    internal static int FaultKinds => Enum.GetValues<FaultKind>().Length;
}
