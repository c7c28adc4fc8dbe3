using System.Text;
using Confluent.Kafka;
using LogWhisperer.Cli.Configuration;
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

    /// <summary>Listen address, TLS, bearer token, body and rate limits (loopback only unless told
    /// otherwise).</summary>
    public HttpSecurityOptions Http { get; init; } = new();

    // The engine's default input topics (KafkaSettings.DefaultInputTopics): what the gateway writes, the engine reads.
    public string LokiProtoTopic { get; init; } = DefaultTopics.LokiProto;
    public string LokiJsonTopic { get; init; } = DefaultTopics.LokiJson;
    public string RemoteWriteTopic { get; init; } = DefaultTopics.RemoteWrite;
    public string OtlpProtoTopic { get; init; } = DefaultTopics.OtlpTracesProto;
    public string OtlpJsonTopic { get; init; } = DefaultTopics.OtlpTracesJson;
    public string OtlpMetricsProtoTopic { get; init; } = DefaultTopics.OtlpMetricsProto;
    public string OtlpMetricsJsonTopic { get; init; } = DefaultTopics.OtlpMetricsJson;
    public string OtlpLogsProtoTopic { get; init; } = DefaultTopics.OtlpLogsProto;
    public string OtlpLogsJsonTopic { get; init; } = DefaultTopics.OtlpLogsJson;

    /// <summary>How long a request waits for Kafka's acknowledgement (librdkafka's message.timeout.ms) before a
    /// 503.</summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Request bodies read and decoded at once (the rest wait): bounds memory to about this ×
    /// Http.MaxDecodedBytes.</summary>
    public int MaxConcurrentBodies { get; init; } = Math.Clamp(Environment.ProcessorCount, 2, 8);

    /// <summary>Where Kafka outages (once, then a summary every 30 s) are logged.</summary>
    public ILogger? Log { get; init; }
}

/// <summary> The ingest gateway for teams whose tools push over HTTP: Loki push API (/loki/api/v1/push), Prometheus
/// remote-write receiver (/api/v1/write) and OTLP/HTTP traces, metrics and logs (/v1/traces, /v1/metrics, /v1/logs).
/// Each body is decoded first (a bad payload gets a 400 with the reason, never reaches Kafka), then written to the
/// topic of its format (after undoing any Content-Encoding) and acknowledged only once Kafka has it (acks=all,
/// idempotent producer). Exposure (listen address, TLS, auth, limits) is <see cref="HttpSecurity"/>'s.
/// </summary>
public sealed class IngestGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly GatewayOptions _options;
    private readonly HttpSecurityCounters _security = new();
    private readonly KafkaConnectivity _kafka;
    private readonly GatewayMetrics _metrics;
    private readonly SemaphoreSlim _bodies;
    private int _bodiesInFlight,
        _peakBodiesInFlight;
    private long _accepted,
        _rejected;

    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Requests refused, for any reason (bad payload, too large, unauthenticated, rate-limited, Kafka
    /// down).</summary>
    public long Rejected => Interlocked.Read(ref _rejected) + _security.Unauthorized + _security.RateLimited;
    public HttpSecurityCounters Security => _security;
    public GatewayMetrics Metrics => _metrics;

    /// <summary>Request bodies being read and decompressed now (at most
    /// <see cref="GatewayOptions.MaxConcurrentBodies"/>).</summary>
    public int BodiesInFlight => Volatile.Read(ref _bodiesInFlight);

    /// <summary>The most bodies ever read and decompressed at once.</summary>
    public int PeakBodiesInFlight => Volatile.Read(ref _peakBodiesInFlight);
    public IEnumerable<string> Urls => _app.Urls;

    /// <summary>Kafka answered the last probe (readiness; while it did not, requests get a 503 at once).</summary>
    public bool KafkaReachable => _kafka.Reachable;

    public IngestGateway(GatewayOptions options)
    {
        _options = options;
        var log = options.Log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _producer = new ProducerBuilder<byte[]?, byte[]>(
            options.Kafka.Apply(
                new ProducerConfig
                {
                    EnableIdempotence = true,
                    Acks = Acks.All,
                    LingerMs = 2,
                    // librdkafka's default is 300 s: a client would hang that long before hearing Kafka is down.
                    MessageTimeoutMs = (int)Math.Max(1000, options.DeliveryTimeout.TotalMilliseconds),
                }
            )
        ).SetLogHandler(KafkaClientLog.To(log, options.Kafka)).Build();
        _kafka = new KafkaConnectivity(options.Kafka);
        var readiness = new Hosting.Readiness().Require(
            "kafka",
            () =>
                _kafka.Reachable
                    ? null
                    : $"cannot reach {options.Kafka.BootstrapServers} ({_kafka.LastError ?? "not probed yet"})"
        );
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        Hosting.EmbeddedLifetime.Use(builder.Services); // the command's host owns the signals
        Hosting.HealthEndpoints.AddServices(builder.Services, readiness);
        HttpSecurity.Configure(builder, options.Http, _security);
        _metrics = new GatewayMetrics(this);
        Observability.EngineTelemetry.AddPrometheus(builder, GatewayMetrics.MeterName, _metrics.Owns);
        _app = builder.Build();
        HttpSecurity.Use(_app, options.Http, _security);
        Hosting.HealthEndpoints.Map(_app);
        Observability.EngineTelemetry.MapPrometheus(_app);
        var decode = new DecodeOptions();
        _bodies = new SemaphoreSlim(options.MaxConcurrentBodies);
        Map(
            "/loki/api/v1/push",
            new Route(
                new LokiProtoDecoder(decode),
                options.LokiProtoTopic,
                new LokiJsonDecoder(decode),
                options.LokiJsonTopic,
                204,
                null,
                null
            )
        );
        Map(
            "/api/v1/write",
            new Route(new RemoteWriteDecoder(decode), options.RemoteWriteTopic, null, null, 204, null, null)
        );
        // OTLP/HTTP answers an empty Export*ServiceResponse: {} as JSON, zero bytes as protobuf.
        Map(
            "/v1/traces",
            new Route(
                new OtlpTracesProtoDecoder(decode),
                options.OtlpProtoTopic,
                new OtlpTracesJsonDecoder(decode),
                options.OtlpJsonTopic,
                200,
                "",
                "{}"
            )
        );
        Map(
            "/v1/metrics",
            new Route(
                new OtlpMetricsProtoDecoder(decode),
                options.OtlpMetricsProtoTopic,
                new OtlpMetricsJsonDecoder(decode),
                options.OtlpMetricsJsonTopic,
                200,
                "",
                "{}"
            )
        );
        Map(
            "/v1/logs",
            new Route(
                new OtlpLogsProtoDecoder(decode),
                options.OtlpLogsProtoTopic,
                new OtlpLogsJsonDecoder(decode),
                options.OtlpLogsJsonTopic,
                200,
                "",
                "{}"
            )
        );
    }

    /// <summary>A push endpoint: its protobuf format and, where the protocol has one, its JSON format, each with its
    /// topic.</summary>
    private sealed record Route(
        ITelemetryDecoder Proto,
        string ProtoTopic,
        ITelemetryDecoder? Json,
        string? JsonTopic,
        int Status,
        string? ProtoBody,
        string? JsonBody
    )
    {
        public string Accepts =>
            Json is null ? "application/x-protobuf (snappy-compressed)" : "application/x-protobuf or application/json";
    }

    private void Map(string path, Route route) => _app.MapPost(path, (HttpContext ctx) => Accept(ctx, path, route));

    public async Task StartAsync()
    {
        // The first probe before the first request: a gateway started while Kafka is down is not ready, and says so.
        await Task.Run(() => _kafka.Probe(TimeSpan.FromSeconds(2)));
        _kafka.StartProbing(TimeSpan.FromSeconds(2));
        await Hosting.Listening.StartAsync(_app, _options.Http.Listen, Setting.Of((GatewaySection g) => g.Listen).Hint);
    }

    private enum BodyKind
    {
        Json,
        Protobuf,
        Unknown,
        Unsupported,
    }

    /// <summary>What the Content-Type says; a missing (or generic) one is sniffed from the body.</summary>
    private static BodyKind Declared(string? contentType)
    {
        var type = contentType?.Split(';')[0].Trim().ToLowerInvariant();
        return type switch
        {
            null or "" or "application/octet-stream" => BodyKind.Unknown,
            "application/json" or "text/json" => BodyKind.Json,
            "application/x-protobuf" or "application/protobuf" or "application/vnd.google.protobuf" =>
                BodyKind.Protobuf,
            _ => BodyKind.Unsupported,
        };
    }

    /// <summary>JSON bodies start with '{' (after whitespace); protobuf ones never do (field 1 is tag 0x0a).</summary>
    private static bool LooksLikeJson(ReadOnlySpan<byte> head) => head.TrimStart(" \t\r\n"u8) is [(byte)'{', ..];

    private async Task Accept(HttpContext ctx, string path, Route route)
    {
        _metrics.Request(path, ctx.Request.ContentLength);
        var limits = _options.Http;
        var declared = Declared(ctx.Request.ContentType);
        if (declared == BodyKind.Unsupported || (declared == BodyKind.Json && route.Json is null))
        {
            await Reject(
                ctx,
                415,
                $"unsupported Content-Type '{ctx.Request.ContentType}': {path} accepts {route.Accepts}"
            );
            return;
        }
        byte[] payload;
        ITelemetryDecoder decoder;
        // Bodies are decoded a few at a time (Gateway:MaxConcurrentBodies): what a burst of compressed bombs can
        // hold at once is that many times the decoded-size cap, however many arrive; the others wait their turn.
        await _bodies.WaitAsync(ctx.RequestAborted);
        int inFlight = Interlocked.Increment(ref _bodiesInFlight);
        for (int peak = _peakBodiesInFlight; inFlight > peak; peak = _peakBodiesInFlight)
            Interlocked.CompareExchange(ref _peakBodiesInFlight, inFlight, peak);
        bool large = false;
        try
        {
            using var raw = new PooledChunks(limits.MaxRequestBytes);
            await raw.ReadFromAsync(ctx.Request.Body, ctx.RequestAborted);
            var encoding = ctx.Request.Headers.ContentEncoding.ToString();
            var kind = declared;
            // Remote-write (and some Loki clients) label the format's own snappy framing "Content-Encoding: snappy":
            // the decoder undoes that layer itself, after the declared-size check below.
            if (kind != BodyKind.Json && encoding.Equals("snappy", StringComparison.OrdinalIgnoreCase))
            {
                kind = BodyKind.Protobuf;
                encoding = "";
            }
            payload = BodyDecoding.Decode(raw, encoding, limits.MaxDecodedBytes);
            large = raw.Length + payload.Length > 16 << 20;
            if (kind == BodyKind.Unknown)
                kind = LooksLikeJson(payload) ? BodyKind.Json : BodyKind.Protobuf;
            if (kind == BodyKind.Json && route.Json is null)
            {
                await Reject(ctx, 415, $"this body is JSON, but {path} accepts {route.Accepts}");
                return;
            }
            decoder = kind == BodyKind.Json ? route.Json! : route.Proto;
        }
        catch (Exception e)
            when (e is PooledChunks.CapExceededException || e is BadHttpRequestException { StatusCode: 413 })
        {
            await Reject(ctx, 413, $"request body larger than {limits.MaxRequestBytes} bytes");
            return;
        }
        catch (InvalidDataException e) when (BodyDecoding.IsTooLarge(e))
        {
            large = true;
            await Reject(ctx, 413, e.Message);
            return;
        }
        catch (InvalidDataException e)
        {
            await Reject(ctx, 400, e.Message);
            return;
        }
        finally
        {
            _bodies.Release();
            if (large)
                Volatile.Write(ref _largeSinceGiveBack, 1);
            if (Interlocked.Decrement(ref _bodiesInFlight) == 0 && Volatile.Read(ref _largeSinceGiveBack) == 1)
                GiveMemoryBackWhenIdle();
        }
        var topic = decoder == route.Json ? route.JsonTopic! : route.ProtoTopic;
        var status = route.Status;
        var body = decoder == route.Json ? route.JsonBody : route.ProtoBody;
        // Snappy-framed formats declare their size up front: refuse a bomb before decompressing it.
        if (SnappyFramed(decoder) && SnappyBlock.DeclaredLength(payload) > limits.MaxDecodedBytes)
        {
            await Reject(
                ctx,
                413,
                $"snappy body decodes to {SnappyBlock.DeclaredLength(payload)} bytes, "
                    + $"more than the {limits.MaxDecodedBytes} allowed"
            );
            return;
        }
        try
        {
            decoder.Decode(payload, new List<TelemetryRecord>());
        }
        catch (InvalidDataException e)
        {
            var hint =
                declared == BodyKind.Unknown
                    ? $" (no Content-Type: read as {(decoder == route.Json ? "JSON" : "protobuf")}; {path} accepts {route.Accepts})"
                    : "";
            await Reject(ctx, 400, e.Message + hint);
            return;
        }
        // Kafka known to be down: say so now rather than after the delivery timeout.
        if (!_kafka.Reachable)
        {
            _metrics.DeliveryFailed();
            await Reject(
                ctx,
                503,
                $"kafka unavailable: cannot reach {_options.Kafka.BootstrapServers}",
                "kafka_unavailable"
            );
            return;
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await _producer.ProduceAsync(
                topic,
                new Message<byte[]?, byte[]>
                {
                    Value = payload,
                    Headers = new Headers { { "lw-format", Encoding.UTF8.GetBytes(decoder.Format.ToString()) } },
                },
                ctx.RequestAborted
            );
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

    private int _giveBackPending,
        _largeSinceGiveBack;

    /// <summary>
    /// After a burst of large bodies, once none has been in flight for a second: the chunk pool is emptied and a
    /// compacting collection returns the freed memory to the OS (an idle gateway would otherwise hold the burst's
    /// peak until its next allocations).
    /// </summary>
    private void GiveMemoryBackWhenIdle()
    {
        if (Interlocked.Exchange(ref _giveBackPending, 1) == 1)
            return;
        _ = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            Volatile.Write(ref _giveBackPending, 0);
            if (BodiesInFlight > 0 || Interlocked.Exchange(ref _largeSinceGiveBack, 0) == 0)
                return; // still busy: the last body to finish asks again
            ChunkPool.Shared.Trim();
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System
                .Runtime
                .GCLargeObjectHeapCompactionMode
                .CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        });
    }

    private static bool SnappyFramed(ITelemetryDecoder decoder) =>
        decoder.Format is TelemetryFormat.LokiProto or TelemetryFormat.RemoteWrite;

    private async Task Reject(HttpContext ctx, int status, string reason, string? label = null)
    {
        Interlocked.Increment(ref _rejected);
        _metrics.Rejected(
            label
                ?? status switch
                {
                    413 => "too_large",
                    400 => "bad_payload",
                    415 => "unsupported_media_type",
                    _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
                }
        );
        ctx.Response.StatusCode = status;
        if (status == 503)
            ctx.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(_options.DeliveryTimeout.TotalSeconds))
                .ToString(System.Globalization.CultureInfo.InvariantCulture);
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(reason + "\n");
    }

    private int _disposed;

    /// <summary>Stops taking requests, lets those in flight finish, flushes the producer. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
        _kafka.Dispose();
        _metrics.Dispose();
    }
}
