namespace LogWhisperer.Features;

/// <summary>
/// One (cluster, window) after featurizing: per-service measurements, their baselines and the normalised
/// model features, and the call edges with theirs. Row-major arrays: node i's feature f is at i*F+f.
/// </summary>
public sealed record WindowFeatures(
    string Cluster,
    long StartMs,
    long EndMs,
    string[] Services,
    double[] Measurements,
    double[] Baselines,
    float[] NodeFeatures,
    string?[] NewTemplates,
    (int From, int To)[] Edges,
    double[] EdgeMeasurements,
    float[] EdgeFeatures,
    bool Warmup
);
