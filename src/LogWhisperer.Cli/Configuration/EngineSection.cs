using System.ComponentModel;

namespace LogWhisperer.Cli.Configuration;

internal enum DeviceChoice
{
    Auto,
    Cpu,
    Cuda,
}

/// <summary>What the engine reads records as, its model and its topology stage.</summary>
internal sealed class EngineSection
{
    [Description("Cluster for records that carry no cluster label.")]
    [CliOption("--cluster", CliCommands.Running)]
    public string Cluster { get; set; } = "default";

    [Description(
        "Labels naming a record's service, in order of preference. Empty: service_name, service.name, app, " + "…."
    )]
    [CliOption("--service-label", CliCommands.Running)]
    public List<string> ServiceLabels { get; set; } = [];

    [Description("Model file. Unset: the model shipped with LogWhisperer (models/gat-default.lwm).")]
    [CliOption("--model", CliCommands.Running, "-m")]
    public string? Model { get; set; }

    [Description("Where the model runs: Auto (CUDA when available), Cpu or Cuda.")]
    [CliOption("--device", CliCommands.Running)]
    public DeviceChoice Device { get; set; } = DeviceChoice.Auto;

    [Description("Incident probability from which a window gets an RCA event.")]
    public double IncidentThreshold { get; set; } = 0.5;

    [Description("Also print RCA events as JSON lines on stdout.")]
    [CliOption("--print", CliCommands.Running)]
    public bool Print { get; set; }

    [Description(
        "Single: the whole engine. Two-stage topology for a mesh too large for one instance: Window "
            + "(telemetry keyed by service → per-(service, window) parts on Kafka:ServiceWindowsTopic) or Score (those "
            + "parts → whole windows → RCA events)."
    )]
    [CliOption("--stage", CliCommands.Engine)]
    public LogWhisperer.Hosting.EngineStage Stage { get; set; } = LogWhisperer.Hosting.EngineStage.Single;

    [Description(
        "Score stage: close a window missing some services' parts once parts of a window this many seconds "
            + "of event time later arrived."
    )]
    public double ServiceWindowGraceSeconds { get; set; } = 120;

    [Description(
        "Score stage: close a window missing some services' parts this many seconds (wall clock) after its "
            + "first part arrived."
    )]
    public double ServiceWindowTimeoutSeconds { get; set; } = 30;
}
