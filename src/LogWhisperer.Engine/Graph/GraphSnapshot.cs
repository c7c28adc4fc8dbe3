using Apache.Arrow;
using Apache.Arrow.Types;
using LogWhisperer.Features;
using LogWhisperer.Simulation;

namespace LogWhisperer.Graph;

/// <summary>Ground truth attached to a snapshot when it is known (simulator, labelled datasets).</summary>
public sealed record SnapshotLabel(string? RootService, FaultKind? Kind)
{
    public bool IsIncident => RootService is not null;
    public static readonly SnapshotLabel Quiet = new(null, null);
}

/// <summary>
/// The service graph of one (cluster, window), held as two Apache Arrow record batches: a node table
/// (service, model features, raw measurements and their baselines) and an edge table (source and target
/// node indices, model features, raw measurements). Window, cluster, feature-schema version and label
/// travel as schema metadata, so the batches alone round-trip through Arrow IPC files.
/// </summary>
public sealed class GraphSnapshot
{
    public const string ServiceColumn = "service",
        NewTemplateColumn = "new_template",
        SourceColumn = "source",
        TargetColumn = "target";
    private const string MetaPrefix = "logwhisperer.";

    public RecordBatch Nodes { get; }
    public RecordBatch Edges { get; }
    public string Cluster { get; }
    public long WindowStartMs { get; }
    public long WindowEndMs { get; }
    public string SchemaVersion { get; }
    public SnapshotLabel? Label { get; }
    public int NodeCount => Nodes.Length;
    public int EdgeCount => Edges.Length;

    public GraphSnapshot(RecordBatch nodes, RecordBatch edges)
    {
        Nodes = nodes;
        Edges = edges;
        var meta = nodes.Schema.Metadata;
        string Get(string key) =>
            meta.TryGetValue(MetaPrefix + key, out var v)
                ? v
                : throw new InvalidDataException($"snapshot node table lacks metadata '{MetaPrefix + key}'");
        Cluster = Get("cluster");
        WindowStartMs = long.Parse(Get("window_start_ms"));
        WindowEndMs = long.Parse(Get("window_end_ms"));
        SchemaVersion = Get("feature_schema");
        if (meta.TryGetValue(MetaPrefix + "label_root", out var root))
            Label = new SnapshotLabel(
                root.Length == 0 ? null : root,
                meta.TryGetValue(MetaPrefix + "label_kind", out var kind) && kind.Length > 0
                    ? Enum.Parse<FaultKind>(kind)
                    : null
            );
    }

    public string Service(int node) => ((StringArray)Nodes.Column(ServiceColumn)).GetString(node);

    public string[] Services() => Enumerable.Range(0, NodeCount).Select(Service).ToArray();

    public int IndexOf(string service)
    {
        for (int i = 0; i < NodeCount; i++)
            if (Service(i) == service)
                return i;
        return -1;
    }

    public string? NewTemplate(int node) => ((StringArray)Nodes.Column(NewTemplateColumn)).GetString(node);

    public ReadOnlySpan<float> NodeFeature(int feature) =>
        ((FloatArray)Nodes.Column(FeatureSchema.NodeFeatures[feature].Name)).Values;

    public double Measurement(int node, Measurement m) =>
        ((DoubleArray)Nodes.Column(MeasurementColumn(m))).GetValue(node) ?? double.NaN;

    public double Baseline(int node, Measurement m) =>
        ((DoubleArray)Nodes.Column(BaselineColumn(m))).GetValue(node) ?? double.NaN;

    public ReadOnlySpan<int> EdgeSources => ((Int32Array)Edges.Column(SourceColumn)).Values;
    public ReadOnlySpan<int> EdgeTargets => ((Int32Array)Edges.Column(TargetColumn)).Values;

    public ReadOnlySpan<float> EdgeFeature(int feature) =>
        ((FloatArray)Edges.Column(FeatureSchema.EdgeFeatures[feature])).Values;

    public double EdgeMeasurement(int edge, int k) =>
        ((DoubleArray)Edges.Column(EdgeMeasurementColumn(k))).GetValue(edge) ?? double.NaN;

    public static string MeasurementColumn(Measurement m) => "m." + FeatureSchema.Measurements[(int)m].Name;

    public static string BaselineColumn(Measurement m) => "baseline." + FeatureSchema.Measurements[(int)m].Name;

    public static string EdgeMeasurementColumn(int k) => "m." + FeatureSchema.EdgeFeatures[k].Replace("_z", "");

    /// <summary>Builds the Arrow tables from a featurized window.</summary>
    public static GraphSnapshot From(WindowFeatures w, SnapshotLabel? label = null)
    {
        int n = w.Services.Length,
            f = FeatureSchema.NodeFeatureCount,
            m = FeatureSchema.MeasurementCount;
        var meta = new Dictionary<string, string>
        {
            [MetaPrefix + "cluster"] = w.Cluster,
            [MetaPrefix + "window_start_ms"] = w.StartMs.ToString(),
            [MetaPrefix + "window_end_ms"] = w.EndMs.ToString(),
            [MetaPrefix + "feature_schema"] = FeatureSchema.Version,
        };
        if (label is not null)
        {
            meta[MetaPrefix + "label_root"] = label.RootService ?? "";
            meta[MetaPrefix + "label_kind"] = label.Kind?.ToString() ?? "";
        }

        var nodeFields = new List<Field> { new(ServiceColumn, StringType.Default, false) };
        var nodeColumns = new List<IArrowArray> { new StringArray.Builder().AppendRange(w.Services).Build() };
        for (int k = 0; k < f; k++)
        {
            nodeFields.Add(new Field(FeatureSchema.NodeFeatures[k].Name, FloatType.Default, false));
            nodeColumns.Add(FloatColumn(w.NodeFeatures, n, f, k));
        }
        for (int k = 0; k < m; k++)
        {
            nodeFields.Add(new Field(MeasurementColumn((Measurement)k), DoubleType.Default, true));
            nodeColumns.Add(DoubleColumn(w.Measurements, n, m, k));
        }
        for (int k = 0; k < m; k++)
        {
            nodeFields.Add(new Field(BaselineColumn((Measurement)k), DoubleType.Default, true));
            nodeColumns.Add(DoubleColumn(w.Baselines, n, m, k));
        }
        nodeFields.Add(new Field(NewTemplateColumn, StringType.Default, true));
        var templates = new StringArray.Builder();
        foreach (var t in w.NewTemplates)
        {
            if (t is null)
                templates.AppendNull();
            else
                templates.Append(t);
        }
        nodeColumns.Add(templates.Build());
        var nodes = new RecordBatch(new Schema(nodeFields, meta), nodeColumns, n);

        int e = w.Edges.Length,
            me = FeatureSchema.EdgeMeasurements;
        var edgeFields = new List<Field>
        {
            new(SourceColumn, Int32Type.Default, false),
            new(TargetColumn, Int32Type.Default, false),
        };
        var edgeColumns = new List<IArrowArray>
        {
            new Int32Array.Builder().AppendRange(w.Edges.Select(x => x.From)).Build(),
            new Int32Array.Builder().AppendRange(w.Edges.Select(x => x.To)).Build(),
        };
        for (int k = 0; k < me; k++)
        {
            edgeFields.Add(new Field(FeatureSchema.EdgeFeatures[k], FloatType.Default, false));
            edgeColumns.Add(FloatColumn(w.EdgeFeatures, e, me, k));
        }
        for (int k = 0; k < me; k++)
        {
            edgeFields.Add(new Field(EdgeMeasurementColumn(k), DoubleType.Default, true));
            edgeColumns.Add(DoubleColumn(w.EdgeMeasurements, e, me, k));
        }
        var edges = new RecordBatch(new Schema(edgeFields, null), edgeColumns, e);
        return new GraphSnapshot(nodes, edges);
    }

    private static FloatArray FloatColumn(float[] rowMajor, int rows, int width, int column)
    {
        var b = new FloatArray.Builder().Reserve(rows);
        for (int r = 0; r < rows; r++)
            b.Append(rowMajor[r * width + column]);
        return b.Build();
    }

    private static DoubleArray DoubleColumn(double[] rowMajor, int rows, int width, int column)
    {
        var b = new DoubleArray.Builder().Reserve(rows);
        for (int r = 0; r < rows; r++)
        {
            double v = rowMajor[r * width + column];
            if (double.IsNaN(v))
                b.AppendNull();
            else
                b.Append(v);
        }
        return b.Build();
    }
}
