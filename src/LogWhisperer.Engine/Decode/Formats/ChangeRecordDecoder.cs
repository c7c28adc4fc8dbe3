using System.Text;
using LogWhisperer.Changes;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Formats;

/// <summary>
/// A changes topic: each message one change record (or JSON lines of them) in any format <see cref="ChangeDecoder"/>
/// reads. The changes go to the engine's <see cref="ChangeLog"/>; no telemetry records come out. A message that
/// is not a change record is dead-lettered like any undecodable message; a valid event that is not a change
/// (another Kubernetes event reason) is counted as read and gives nothing.
/// </summary>
internal sealed class ChangeRecordDecoder(DecodeOptions options) : ITelemetryDecoder
{
    private readonly ChangeDecoder _decoder = new(options.DefaultCluster);

    public TelemetryFormat Format => TelemetryFormat.Changes;

    public void Decode(ReadOnlySpan<byte> payload, List<TelemetryRecord> output)
    {
        var log =
            options.Changes
            ?? throw new InvalidDataException("a changes topic needs the engine's change log (DecodeOptions.Changes)");
        var decoded = new List<ChangeEvent>();
        foreach (
            var line in Encoding
                .UTF8.GetString(payload)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        )
        {
            try
            {
                decoded.AddRange(_decoder.Decode(line).Changes);
            }
            catch (FormatException e)
            {
                throw new InvalidDataException($"change record: {e.Message}", e);
            }
        }
        log.AddRange(decoded); // all or nothing, like every decoder
    }
}
