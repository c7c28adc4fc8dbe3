using System.Text;
using Confluent.Kafka;
using LogWhisperer.Decode;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Kafka;
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
    public string OtlpLogsProtoTopic { get; init; } = "otlp_logs";
    public string OtlpLogsJsonTopic { get; init; } = "otlp_logs_json";
}

/// <summary>
/// The ingest gateway for teams whose tools push over HTTP: Loki push API (/loki/api/v1/push), Prometheus
/// remote-write receiver (/api/v1/write) and OTLP/HTTP traces, metrics and logs (/v1/traces, /v1/metrics, /v1/logs). Each body is decoded first (a bad
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
    private long _accepted, _rejected;

    public long Accepted => Interlocked.Read(ref _accepted);
    /// <summary>Requests refused, for any reason (bad payload, too large, unauthenticated, rate-limited, Kafka down).</summary>
    public long Rejected => Interlocked.Read(ref _rejected) + _security.Unauthorized + _security.RateLimited;
    public HttpSecurityCounters Security => _security;
    public IEnumerable<string> Urls => _app.Urls;

    public IngestGateway(GatewayOptions options)
    {
        _options = options;
        _producer = new ProducerBuilder<byte[]?, byte[]>(options.Kafka.Apply(new ProducerConfig { EnableIdempotence = true, Acks = Acks.All, LingerMs = 2 })).Build();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        HttpSecurity.Configure(builder, options.Http, _security);
        _app = builder.Build();
        HttpSecurity.Use(_app, options.Http, _security);
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
        _app.MapPost("/v1/logs", (HttpContext ctx) => IsJson(ctx)
            ? Accept(ctx, new OtlpLogsJsonDecoder(decode), options.OtlpLogsJsonTopic, 200, "{}")
            : Accept(ctx, new OtlpLogsProtoDecoder(decode), options.OtlpLogsProtoTopic, 200, "")); // empty ExportLogsServiceResponse
    }

    public Task StartAsync() => _app.StartAsync();

    private static bool IsJson(HttpContext ctx) => ctx.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true;

    private async Task Accept(HttpContext ctx, ITelemetryDecoder decoder, string topic, int status, string? body = null)
    {
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
            await Reject(ctx, 503, "kafka unavailable: " + e.Error.Reason);
            return;
        }
        Interlocked.Increment(ref _accepted);
        ctx.Response.StatusCode = status;
        if (!string.IsNullOrEmpty(body))
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(body);
        }
    }

    private static bool SnappyFramed(ITelemetryDecoder decoder) => decoder.Format is TelemetryFormat.LokiProto or TelemetryFormat.RemoteWrite;

    private async Task Reject(HttpContext ctx, int status, string reason)
    {
        Interlocked.Increment(ref _rejected);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(reason + "\n");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }
}
