using System.Buffers;
using System.Text;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Export;

/// <summary>
/// Encodes telemetry batches (one per simulated second) into the three wire formats and hands the
/// payloads to a sink: a Loki push request for the logs, a Prometheus exposition document for the metrics
/// scraped in it, an OTLP ExportTraceServiceRequest for the spans. Counts what it wrote.
/// </summary>
internal sealed class TelemetryExporter(IPayloadSink sink, string namespaceName = "default") : IAsyncDisposable
{
    // Reused for every payload: a run encodes gigabytes, and fresh buffers per second would land on the large-object
    // heap.
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 20);
    private readonly StringBuilder _text = new(1 << 16);

    public long Logs { get; private set; }
    public long Metrics { get; private set; }
    public long Spans { get; private set; }
    public long Records => Logs + Metrics + Spans;
    public long Bytes { get; private set; }

    public async ValueTask WriteAsync(
        IReadOnlyList<TelemetryRecord> batch,
        CancellationToken cancellationToken = default
    )
    {
        if (batch.Count == 0)
            return;
        string cluster = batch[0].Cluster;
        long first = long.MaxValue;
        foreach (var r in batch)
        {
            first = Math.Min(first, r.TimestampMs);
            switch (r)
            {
                case LogRecord:
                    Logs++;
                    break;
                case MetricSample:
                    Metrics++;
                    break;
                case SpanRecord:
                    Spans++;
                    break;
            }
        }
        _buffer.ResetWrittenCount();
        if (LokiPushEncoder.Encode(batch, namespaceName, _buffer))
            await Send(WireStream.Logs);
        _text.Clear();
        if (PrometheusTextEncoder.Encode(batch, namespaceName, _text))
        {
            foreach (var chunk in _text.GetChunks())
                Encoding.UTF8.GetBytes(chunk.Span, _buffer);
            await Send(WireStream.Metrics);
        }
        if (OtlpJsonEncoder.Encode(batch, namespaceName, _buffer))
            await Send(WireStream.Traces);

        async ValueTask Send(WireStream stream)
        {
            Bytes += _buffer.WrittenCount;
            await sink.WriteAsync(new Payload(stream, cluster, first, _buffer.WrittenMemory), cancellationToken);
            _buffer.ResetWrittenCount();
        }
    }

    public ValueTask DisposeAsync() => sink.DisposeAsync();
}
