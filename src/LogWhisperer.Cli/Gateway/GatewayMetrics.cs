using System.Collections.Concurrent;
using LogWhisperer.Pipeline;

namespace LogWhisperer.Cli.Gateway;

/// <summary>The gateway's own metrics at /metrics (Prometheus text format): requests and bytes per route, rejections by reason, Kafka deliveries.</summary>
public sealed class GatewayMetrics
{
    private readonly ConcurrentDictionary<string, long> _requests = new();
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private readonly ConcurrentDictionary<string, long> _rejections = new();
    private long _deliveryFailures;

    /// <summary>Time from handing a body to the producer to Kafka's acknowledgement (acks=all).</summary>
    public Histogram DeliveryLatency { get; } = new(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10);
    public long DeliveryFailures => Interlocked.Read(ref _deliveryFailures);
    public long Rejections(string reason) => _rejections.GetValueOrDefault(reason);

    internal void Request(string route, long? bytes)
    {
        _requests.AddOrUpdate(route, 1, (_, n) => n + 1);
        if (bytes is > 0) _bytes.AddOrUpdate(route, bytes.Value, (_, n) => n + bytes.Value);
    }

    internal void Rejected(string reason) => _rejections.AddOrUpdate(reason, 1, (_, n) => n + 1);
    internal void DeliveryFailed() => Interlocked.Increment(ref _deliveryFailures);
    internal void Delivered(TimeSpan latency, long bytes) => DeliveryLatency.Observe(latency.TotalSeconds);

    public string Exposition(IngestGateway gateway)
    {
        var x = new PrometheusExposition();
        x.Family("logwhisperer_gateway_requests_total", "counter", "Push requests received, per route.");
        foreach (var (route, n) in _requests.OrderBy(p => p.Key)) x.Sample("logwhisperer_gateway_requests_total", n, ("route", route));
        x.Family("logwhisperer_gateway_request_bytes_total", "counter", "Request body bytes as sent (before Content-Encoding is undone), per route.");
        foreach (var (route, n) in _bytes.OrderBy(p => p.Key)) x.Sample("logwhisperer_gateway_request_bytes_total", n, ("route", route));
        x.Family("logwhisperer_gateway_rejections_total", "counter", "Requests refused, by reason (bad_payload, too_large, unsupported_media_type, kafka_unavailable, unauthorized, rate_limited).");
        foreach (var (reason, n) in _rejections.OrderBy(p => p.Key)) x.Sample("logwhisperer_gateway_rejections_total", n, ("reason", reason));
        x.Sample("logwhisperer_gateway_rejections_total", gateway.Security.Unauthorized, ("reason", "unauthorized"));
        x.Sample("logwhisperer_gateway_rejections_total", gateway.Security.RateLimited, ("reason", "rate_limited"));
        x.Histogram("logwhisperer_gateway_kafka_delivery_seconds", "Time from a body's hand-over to the producer to Kafka's acknowledgement.", DeliveryLatency);
        x.Family("logwhisperer_gateway_kafka_delivery_failures_total", "counter", "Bodies Kafka did not take (down, or past the delivery timeout): answered 503.");
        x.Sample("logwhisperer_gateway_kafka_delivery_failures_total", DeliveryFailures);
        x.Family("logwhisperer_gateway_kafka_up", "gauge", "1 when the last probe of the brokers was answered.");
        x.Sample("logwhisperer_gateway_kafka_up", gateway.KafkaReachable ? 1 : 0);
        x.Family("logwhisperer_gateway_bodies_decoding", "gauge", "Request bodies being read and decompressed now (at most Gateway:MaxConcurrentBodies).");
        x.Sample("logwhisperer_gateway_bodies_decoding", gateway.BodiesInFlight);
        x.Family("logwhisperer_process_managed_heap_bytes", "gauge", "Bytes on the managed heap (GC.GetGCMemoryInfo: heap size after the last collection).");
        x.Sample("logwhisperer_process_managed_heap_bytes", GC.GetGCMemoryInfo().HeapSizeBytes);
        x.Family("logwhisperer_process_resident_memory_bytes", "gauge", "Resident memory of the gateway process.");
        x.Sample("logwhisperer_process_resident_memory_bytes", Environment.WorkingSet);
        return x.ToString();
    }
}
