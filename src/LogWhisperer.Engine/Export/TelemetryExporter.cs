using System.Text;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Export;

/// <summary>
/// Encodes telemetry batches (one per simulated second) into the three wire formats and hands the
/// payloads to a sink: a Loki push request for the logs, a Prometheus exposition document for the metrics
/// scraped in it, an OTLP ExportTraceServiceRequest for the spans. Counts what it wrote.
/// </summary>
public sealed class TelemetryExporter(IPayloadSink sink, string namespaceName = "default") : IAsyncDisposable
{
    public long Logs { get; private set; }
    public long Metrics { get; private set; }
    public long Spans { get; private set; }
    public long Records => Logs + Metrics + Spans;
    public long Bytes { get; private set; }

    public async ValueTask WriteAsync(IReadOnlyList<TelemetryRecord> batch, CancellationToken cancellationToken = default)
    {
        if (batch.Count == 0) return;
        string cluster = batch[0].Cluster;
        long first = long.MaxValue;
        foreach (var r in batch)
        {
            first = Math.Min(first, r.TimestampMs);
            switch (r)
            {
                case LogRecord: Logs++; break;
                case MetricSample: Metrics++; break;
                case SpanRecord: Spans++; break;
            }
        }
        if (LokiPushEncoder.Encode(batch, namespaceName) is { } logs) await Send(WireStream.Logs, logs);
        if (PrometheusTextEncoder.Encode(batch, namespaceName) is { } metrics) await Send(WireStream.Metrics, Encoding.UTF8.GetBytes(metrics));
        if (OtlpJsonEncoder.Encode(batch, namespaceName) is { } traces) await Send(WireStream.Traces, traces);

        async ValueTask Send(WireStream stream, byte[] body)
        {
            Bytes += body.Length;
            await sink.WriteAsync(new Payload(stream, cluster, first, body), cancellationToken);
        }
    }

    public ValueTask DisposeAsync() => sink.DisposeAsync();
}
