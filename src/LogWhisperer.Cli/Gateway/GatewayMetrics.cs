using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace LogWhisperer.Cli.Gateway;

/// <summary>
/// The gateway's own metrics: requests and bytes per route, rejections by reason, Kafka deliveries, memory —
/// System.Diagnostics.Metrics instruments on a meter of its own, served at /metrics by OpenTelemetry's Prometheus
/// exporter as the engine's are (names such as <c>logwhisperer_gateway_requests_total</c>).
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "LogWhisperer.Gateway";
    private static readonly double[] DeliveryBounds =
    [
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
        5,
        10,
    ];
    private readonly Meter _meter = new(MeterName, typeof(GatewayMetrics).Assembly.GetName().Version?.ToString());
    private readonly ConcurrentDictionary<string, long> _requests = new();
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private readonly ConcurrentDictionary<string, long> _rejections = new();
    private readonly Histogram<double> _deliveryLatency;
    private long _deliveryFailures;

    internal GatewayMetrics(IngestGateway gateway)
    {
        var m = _meter;
        m.CreateObservableCounter(
            "logwhisperer.gateway.requests",
            () => ByTag(_requests, "route"),
            "{request}",
            "Push requests received, per route."
        );
        m.CreateObservableCounter(
            "logwhisperer.gateway.request",
            () => ByTag(_bytes, "route"),
            "By",
            "Request body bytes as sent (before Content-Encoding is undone), per route."
        );
        m.CreateObservableCounter(
            "logwhisperer.gateway.rejections",
            () =>
                ByTag(_rejections, "reason")
                    .Concat([
                        new Measurement<long>(
                            gateway.Security.Unauthorized,
                            new KeyValuePair<string, object?>("reason", "unauthorized")
                        ),
                        new Measurement<long>(
                            gateway.Security.RateLimited,
                            new KeyValuePair<string, object?>("reason", "rate_limited")
                        ),
                    ]),
            "{request}",
            "Requests refused, by reason (bad_payload, too_large, "
                + "unsupported_media_type, kafka_unavailable, unauthorized, rate_limited)."
        );
        _deliveryLatency = m.CreateHistogram(
            "logwhisperer.gateway.kafka.delivery",
            "s",
            "Time from a body's hand-over to the producer to Kafka's acknowledgement.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DeliveryBounds }
        );
        m.CreateObservableCounter(
            "logwhisperer.gateway.kafka.delivery_failures",
            () => DeliveryFailures,
            "{body}",
            "Bodies Kafka did not take (down, or past the delivery timeout): answered 503."
        );
        m.CreateObservableGauge(
            "logwhisperer.gateway.kafka.up",
            () => gateway.KafkaReachable ? 1 : 0,
            unit: null,
            "1 when the last probe of the brokers was answered."
        );
        m.CreateObservableGauge(
            "logwhisperer.gateway.bodies_decoding",
            () => gateway.BodiesInFlight,
            "{body}",
            "Request bodies being read and decompressed now (at most Gateway:MaxConcurrentBodies)."
        );
        m.CreateObservableGauge(
            "logwhisperer.process.managed_heap",
            () => GC.GetGCMemoryInfo().HeapSizeBytes,
            "By",
            "Bytes on the managed heap (heap size after the last collection)."
        );
        m.CreateObservableGauge(
            "logwhisperer.process.resident_memory",
            () => Environment.WorkingSet,
            "By",
            "Resident memory of the gateway process."
        );
    }

    public long DeliveryFailures => Interlocked.Read(ref _deliveryFailures);

    public long Rejections(string reason) => _rejections.GetValueOrDefault(reason);

    /// <summary>True for this gateway's instruments: its exporter takes only these (several gateways may share a
    /// process).</summary>
    public bool Owns(Instrument instrument) => ReferenceEquals(instrument.Meter, _meter);

    internal void Request(string route, long? bytes)
    {
        _requests.AddOrUpdate(route, 1, (_, n) => n + 1);
        if (bytes is > 0)
            _bytes.AddOrUpdate(route, bytes.Value, (_, n) => n + bytes.Value);
    }

    internal void Rejected(string reason) => _rejections.AddOrUpdate(reason, 1, (_, n) => n + 1);

    internal void DeliveryFailed() => Interlocked.Increment(ref _deliveryFailures);

    internal void Delivered(TimeSpan latency, long bytes) => _deliveryLatency.Record(latency.TotalSeconds);

    private static IEnumerable<Measurement<long>> ByTag(ConcurrentDictionary<string, long> counts, string tag) =>
        counts
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>(tag, p.Key)));

    public void Dispose() => _meter.Dispose();
}
