using System.ComponentModel;

namespace LogWhisperer.Cli.Configuration;

/// <summary>Event-time windows and the watermark.</summary>
internal sealed class WindowsSection
{
    [Description("Length of an event-time window.")]
    public double SizeSeconds { get; set; } = 30;

    [Description("A window opens every this many seconds (equal to SizeSeconds: tumbling windows).")]
    public double HopSeconds { get; set; } = 30;

    [Description("How far event time may run out of order before the watermark passes a record.")]
    public double MaxOutOfOrdernessSeconds { get; set; } = 5;

    [Description("How long after the watermark passes a window's end late records are still accepted.")]
    public double AllowedLatenessSeconds { get; set; } = 5;
}
