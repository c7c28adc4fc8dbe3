namespace LogWhisperer.Scoring;

/// <summary>Hyper-parameters and provenance, saved in the checkpoint beside the weights.</summary>
public sealed record GatConfig
{
    public int Hidden { get; init; } = 32;
    public int Heads { get; init; } = 4;
    public int Layers { get; init; } = 3;
    public double Dropout { get; init; } = 0.1;
    public string FeatureSchema { get; init; } = Features.FeatureSchema.Version;
    public int NodeFeatures { get; init; } = Features.FeatureSchema.NodeFeatureCount;
    public int EdgeFeatures { get; init; } = Features.FeatureSchema.EdgeFeatureCount;
    public string[] FaultKinds { get; init; } = Enum.GetNames<Simulation.FaultKind>();

    /// <summary>False for the edge-ablation baseline: the same network sees each node alone (self-loops
    /// only).</summary>
    public bool UseEdges { get; init; } = true;

    /// <summary>
    /// Also feed each feature relative to its largest magnitude among the graph's nodes (x / (max |x| + 1)):
    /// "the most error-log surprise in this window" reads the same on a mesh whose evidence is ten times weaker
    /// than the simulator's, as a single-feature ranker's argmax does. False in models trained before it.
    /// </summary>
    public bool RelativeFeatures { get; init; }

    /// <summary>Divides root-cause logits before the softmax; fitted on validation data so scores are
    /// calibrated.</summary>
    public double Temperature { get; init; } = 1;

    /// <summary>The command line that trained the model, so it can be reproduced.</summary>
    public string? TrainedWith { get; init; }
    public string? TrainedAt { get; init; }
}
