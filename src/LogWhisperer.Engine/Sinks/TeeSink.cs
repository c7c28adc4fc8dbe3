using LogWhisperer.Explain;

namespace LogWhisperer.Sinks;

/// <summary>Writes each event to several sinks in order (e.g. Kafka, then stdout and the dashboard).</summary>
public sealed class TeeSink(params IRcaSink[] sinks) : IRcaSink
{
    public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken)
    {
        foreach (var sink in sinks) await sink.WriteAsync(rca, cancellationToken);
    }
}
