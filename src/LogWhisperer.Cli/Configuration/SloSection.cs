using System.ComponentModel;

namespace LogWhisperer.Cli.Configuration;

/// <summary>Service-level objectives of entry services, for incidents' urgency.</summary>
internal sealed class SloSection
{
    [Description(
        "Availability objective per entry service in percent of requests that succeed, e.g. "
            + "Slo:Availability:frontend=99.9."
    )]
    public Dictionary<string, double> Availability { get; set; } = [];

    [Description(
        "Latency objective per entry service: LatencyTarget % of requests faster than this many ms, e.g. "
            + "Slo:LatencyMs:frontend=300."
    )]
    public Dictionary<string, double> LatencyMs { get; set; } = [];

    [Description("Share of requests (percent) that must be faster than Slo:LatencyMs.")]
    public double LatencyTarget { get; set; } = 99;
}
