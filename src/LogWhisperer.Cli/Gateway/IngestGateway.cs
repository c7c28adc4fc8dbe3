using System.Text;
using Confluent.Kafka;
using LogWhisperer.Decode;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Gateway;

public sealed record GatewayOptions
{
    public required KafkaSettings Kafka { get; init; }
    /// <summary>Listen address, TLS, bearer token, body and rate limits (loopback only unless told otherwise).</summary>
    public HttpSecurityOptions Http { get; init; } = new();
    public string LokiProtoTopic { get; init; } = "loki_push";
    public string LokiJsonTopic { get; init; } = "loki_push_json";
    public string RemoteWriteTopic { get; init; } = "prometheus_remote_write";
    public string OtlpProtoTopic { get; init; } = "otlp_spans";
    public string OtlpJsonTopic { get; init; } = "otlp_spans_json";
    public string OtlpMetricsProtoTopic { get; init; } = "otlp_metrics";
    public string OtlpMetricsJsonTopic { get; init; } = "otlp_metrics_json";
    /// <summary>How long a request waits for Kafka's acknowledgement (librdkafka's message.timeout.ms) before a 503.</summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Where Kafka outages (once, then a summary every 30 s) are logged.</summary>
    public ILogger? Log { get; init; }
}

/// <summary>
/// The ingest gateway for teams whose tools push over HTTP: Loki push API (/loki/api/v1/push), Prometheus
/// remote-write receiver (/api/v1/write) and OTLP/HTTP traces and metrics (/v1/traces, /v1/metrics). Each body is decoded first (a bad
/// payload gets a 400 with the reason, never reaches Kafka), then written to the topic of its format (after
/// undoing any Content-Encoding) and acknowledged only once Kafka has it (acks=all, idempotent producer).
/// Exposure (listen address, TLS, auth, limits) is <see cref="HttpSecurity"/>'s.
/// </summary>
public sealed class IngestGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly GatewayOptions _options;
    private readonly HttpSecurityCounters _security = new();
    private readonly KafkaConnectivity _kafka;
    private readonly GatewayMetrics _metrics = new();
    private long _accepted, _rejected;

    public long Accepted => Interlocked.Read(ref _accepted);
    /// <summary>Requests refused, for any reason (bad payload, too large, unauthenticated, rate-limited, Kafka down).</summary>
    public long Rejected => Interlocked.Read(ref _rejected) + _security.Unauthorized + _security.RateLimited;
    public HttpSecurityCounters Security => _security;
    public GatewayMetrics Metrics => _metrics;
    public IEnumerable<string> Urls => _app.Urls;
    /// <summary>Kafka answered the last probe (readiness; while it did not, requests get a 503 at once).</summary>
    public bool KafkaReachable => _kafka.Reachable;

    public IngestGateway(GatewayOptions options)
    {
        _options = options;
        var log = options.Log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _producer = new ProducerBuilder<byte[]?, byte[]>(options.Kafka.Apply(new ProducerConfig
            {
                EnableIdempotence = true, Acks = Acks.All, LingerMs = 2,
                // librdkafka's default is 300 s: a client would hang that long before hearing Kafka is down.
                MessageTimeoutMs = (int)Math.Max(1000, options.DeliveryTimeout.TotalMilliseconds),
            }))
            .SetLogHandler(KafkaClientLog.To(log, options.Kafka))
            .Build();
        _kafka = new KafkaConnectivity(options.Kafka);
        var readiness = new Hosting.Readiness().Require("kafka", () => _kafka.Reachable ? null : $"cannot reach {options.Kafka.BootstrapServers} ({_kafka.LastError ?? "not probed yet"})");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        Hosting.EmbeddedLifetime.Use(builder.Services); // the command's host owns the signals
        Hosting.HealthEndpoints.AddServices(builder.Services, readiness);
        HttpSecurity.Configure(builder, options.Http, _security);
        _app = builder.Build();
        HttpSecurity.Use(_app, options.Http, _security);
        Hosting.HealthEndpoints.Map(_app);
        _app.MapGet("/metrics", () => Results.Text(_metrics.Exposition(this), PrometheusExposition.ContentType));
        var decode = new DecodeOptions();
        _app.MapPost("/loki/api/v1/push", (HttpContext ctx) => IsJson(ctx)
            ? Accept(ctx, new LokiJsonDecoder(decode), options.LokiJsonTopic, 204)
            : Accept(ctx, new LokiProtoDecoder(decode), options.LokiProtoTopic, 204));
        _app.MapPost("/api/v1/write", (HttpContext ctx) => Accept(ctx, new RemoteWriteDecoder(decode), options.RemoteWriteTopic, 204));
        _app.MapPost("/v1/traces", (HttpContext ctx) => IsJson(ctx)
            ? Accept(ctx, new OtlpTracesJsonDecoder(decode), options.OtlpJsonTopic, 200, "{}")
            : Accept(ctx, new OtlpTracesProtoDecoder(decode), options.OtlpProtoTopic, 200, "")); // empty ExportTraceServiceResponse
        _app.MapPost("/v1/metrics", (HttpContext ctx) => IsJson(ctx)
            ? Accept(ctx, new OtlpMetricsJsonDecoder(decode), options.OtlpMetricsJsonTopic, 200, "{}")
            : Accept(ctx, new OtlpMetricsProtoDecoder(decode), options.OtlpMetricsProtoTopic, 200, "")); // empty ExportMetricsServiceResponse
    }

    public async Task StartAsync()
    {
        // The first probe before the first request: a gateway started while Kafka is down is not ready, and says so.
        await Task.Run(() => _kafka.Probe(TimeSpan.FromSeconds(2)));
        _kafka.StartProbing(TimeSpan.FromSeconds(2));
        await Hosting.Listening.StartAsync(_app, _options.Http.Listen, "--listen (setting Gateway:Listen)");
    }

    private static bool IsJson(HttpContext ctx) => ctx.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true;

    private async Task Accept(HttpContext ctx, ITelemetryDecoder decoder, string topic, int status, string? body = null)
    {
        _metrics.Request(ctx.Request.Path, ctx.Request.ContentLength);
        var limits = _options.Http;
        byte[] payload;
        try
        {
            using var buffer = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted);
            var encoding = ctx.Request.Headers.ContentEncoding.ToString();
            // Remote-write (and some Loki clients) label the format's own snappy framing "Content-Encoding: snappy":
            // the decoder undoes that layer itself, after the declared-size check below.
            if (SnappyFramed(decoder) && encoding.Equals("snappy", StringComparison.OrdinalIgnoreCase)) encoding = "";
            payload = BodyDecoding.Decode(buffer.ToArray(), encoding, limits.MaxDecodedBytes);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            await Reject(ctx, 413, $"request body larger than {limits.MaxRequestBytes} bytes");
            return;
        }
        catch (InvalidDataException e) when (BodyDecoding.IsTooLarge(e))
        {
            await Reject(ctx, 413, e.Message);
            return;
        }
        catch (InvalidDataException e)
        {
            await Reject(ctx, 400, e.Message);
            return;
        }
        // Snappy-framed formats declare their size up front: refuse a bomb before decompressing it.
        if (SnappyFramed(decoder) && SnappyBlock.DeclaredLength(payload) > limits.MaxDecodedBytes)
        {
            await Reject(ctx, 413, $"snappy body decodes to {SnappyBlock.DeclaredLength(payload)} bytes, more than the {limits.MaxDecodedBytes} allowed");
            return;
        }
        try { decoder.Decode(payload, new List<TelemetryRecord>()); }
        catch (InvalidDataException e)
        {
            await Reject(ctx, 400, e.Message);
            return;
        }
        // Kafka known to be down: say so now rather than after the delivery timeout.
        if (!_kafka.Reachable)
        {
            _metrics.DeliveryFailed();
            await Reject(ctx, 503, $"kafka unavailable: cannot reach {_options.Kafka.BootstrapServers}", "kafka_unavailable");
            return;
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await _producer.ProduceAsync(topic, new Message<byte[]?, byte[]>
            {
                Value = payload,
                Headers = new Headers { { "lw-format", Encoding.UTF8.GetBytes(decoder.Format.ToString()) } },
            }, ctx.RequestAborted);
        }
        catch (ProduceException<byte[]?, byte[]> e)
        {
            _metrics.DeliveryFailed();
            await Reject(ctx, 503, "kafka unavailable: " + e.Error.Reason, "kafka_unavailable");
            return;
        }
        _metrics.Delivered(clock.Elapsed, payload.Length);
        Interlocked.Increment(ref _accepted);
        ctx.Response.StatusCode = status;
        if (!string.IsNullOrEmpty(body))
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(body);
        }
    }

    private static bool SnappyFramed(ITelemetryDecoder decoder) => decoder.Format is TelemetryFormat.LokiProto or TelemetryFormat.RemoteWrite;

    private async Task Reject(HttpContext ctx, int status, string reason, string? label = null)
    {
        Interlocked.Increment(ref _rejected);
        _metrics.Rejected(label ?? status switch { 413 => "too_large", 400 => "bad_payload", 415 => "unsupported_media_type", _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        ctx.Response.StatusCode = status;
        if (status == 503) ctx.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(_options.DeliveryTimeout.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(reason + "\n");
    }

    private int _disposed;

    /// <summary>Stops taking requests, lets those in flight finish, flushes the producer. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
        _kafka.Dispose();
    }
}
