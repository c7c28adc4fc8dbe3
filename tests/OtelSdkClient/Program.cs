using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

// A small shop of four services in one process, each instrumented with the official OpenTelemetry .NET SDK
// (its own TracerProvider, LoggerFactory and MeterProvider, resource service.name = the service), exporting
// traces, logs (inside spans, so with trace and span ids) and metrics over OTLP/HTTP protobuf.
// frontend → checkout → payment, frontend → catalog. After --normal-seconds, --faulty starts throwing for
// --fault-seconds. On exit it prints one JSON line: what it exported and when the fault ran (Unix ms).
//
//   OtelSdkClient --endpoint http://127.0.0.1:3100 [--header "Authorization=Bearer T"] [--normal-seconds 50]
//                 [--fault-seconds 20] [--faulty payment] [--rps 25] [--cluster otel-sdk-shop]
var options = Args.Parse(args);
var services = new[] { "frontend", "checkout", "payment", "catalog" }.ToDictionary(
    n => n,
    n => new Service(n, options)
);
var (frontend, checkout, payment, catalog) = (
    services["frontend"],
    services["checkout"],
    services["payment"],
    services["catalog"]
);
var faulty = services[options.Faulty];
var random = new Random(7);
long spans = 0,
    logs = 0,
    failed = 0;

void Work(Service service, int baseMs)
{
    if (service == faulty && faulty.Throwing && random.NextDouble() < 0.8)
        throw new InvalidOperationException($"{service.Name}: upstream processor refused the request");
    // the service's work: span durations are what this client exists to produce
    Thread.Sleep(baseMs + random.Next(0, 2));
}

// One call from caller to callee: a client span in the caller, the callee's server span as its child.
void Call(Service caller, Service callee, string route, Action body)
{
    using var client = caller.Source.StartActivity($"POST {route}", ActivityKind.Client);
    client
        ?.SetTag("peer.service", callee.Name)
        .SetTag("server.address", callee.Name)
        .SetTag("http.request.method", "POST");
    Interlocked.Increment(ref spans);
    try
    {
        Serve(callee, route, body);
        client?.SetTag("http.response.status_code", 200);
    }
    catch (Exception)
    {
        client?.SetStatus(ActivityStatusCode.Error).SetTag("http.response.status_code", 500);
        caller.Logger.LogWarning("call to {Peer} {Route} failed", callee.Name, route);
        Interlocked.Increment(ref logs);
        throw;
    }
}

void Serve(Service service, string route, Action body)
{
    var clock = Stopwatch.StartNew();
    using var server = service.Source.StartActivity($"POST {route}", ActivityKind.Server);
    server?.SetTag("http.request.method", "POST").SetTag("http.route", route);
    Interlocked.Increment(ref spans);
    int status = 200;
    try
    {
        body();
        service.Logger.LogInformation("handled {Route}", route);
        Interlocked.Increment(ref logs);
    }
    catch (Exception e)
    {
        status = 500;
        server?.SetStatus(ActivityStatusCode.Error, e.Message).AddException(e);
        service.Logger.LogError(e, "{Route} failed: {Reason}", route, e.Message);
        Interlocked.Increment(ref logs);
        throw;
    }
    finally
    {
        server?.SetTag("http.response.status_code", status);
        service.Duration.Record(
            clock.Elapsed.TotalSeconds,
            new("http.route", route),
            new("http.response.status_code", status)
        );
    }
}

long start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
long faultStart = start + options.NormalSeconds * 1000L,
    end = faultStart + options.FaultSeconds * 1000L;
var tick = TimeSpan.FromSeconds(1.0 / options.Rps);
var next = Stopwatch.StartNew();
long requests = 0;
while (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() < end)
{
    faulty.Throwing = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() >= faultStart;
    try
    {
        Serve(
            frontend,
            "/cart/checkout",
            () =>
            {
                Work(frontend, 1);
                Call(frontend, catalog, "/products", () => Work(catalog, 1));
                Call(
                    frontend,
                    checkout,
                    "/checkout",
                    () =>
                    {
                        Work(checkout, 1);
                        Call(checkout, payment, "/charge", () => Work(payment, 2));
                    }
                );
            }
        );
    }
    catch (InvalidOperationException)
    {
        failed++;
    }
    requests++;
    var wait = tick * requests - next.Elapsed;
    if (wait > TimeSpan.Zero)
        Thread.Sleep(wait); // paces requests at --rps: the load it simulates, not a wait
}

foreach (var s in services.Values)
    s.Dispose(); // flushes every exporter
Console.WriteLine(
    JsonSerializer.Serialize(
        new
        {
            requests,
            failed,
            spans,
            logs,
            faulty = faulty.Name,
            faultStartMs = faultStart,
            faultEndMs = end,
            startMs = start,
            cluster = options.Cluster,
            sdk = typeof(Sdk)
                .Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>()
                .FirstOrDefault()
                ?.InformationalVersion,
        }
    )
);
return 0;

/// <summary>One service's SDK setup: traces, logs and metrics, each exported over OTLP/HTTP protobuf.</summary>
sealed class Service : IDisposable
{
    public string Name { get; }
    public ActivitySource Source { get; }
    public ILogger Logger { get; }
    public Histogram<double> Duration { get; }
    public volatile bool Throwing;

    private readonly TracerProvider _tracer;
    private readonly MeterProvider _meter;
    private readonly ILoggerFactory _logs;
    private readonly Meter _meterSource;

    public Service(string name, Args options)
    {
        Name = name;
        var resource = ResourceBuilder
            .CreateEmpty()
            .AddService(name, serviceNamespace: "shop")
            .AddAttributes([new("k8s.cluster.name", options.Cluster), new("deployment.environment.name", "test")]);
        void Otlp(OtlpExporterOptions o, string signal)
        {
            o.Endpoint = new Uri(options.Endpoint.TrimEnd('/') + "/v1/" + signal);
            o.Protocol = OtlpExportProtocol.HttpProtobuf;
            if (options.Header is { } h)
                o.Headers = h;
            o.BatchExportProcessorOptions.ScheduledDelayMilliseconds = 500;
        }
        Source = new ActivitySource("shop." + name);
        _tracer = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(Source.Name)
            .AddOtlpExporter(o => Otlp(o, "traces"))
            .Build();
        _meterSource = new Meter("shop." + name);
        Duration = _meterSource.CreateHistogram<double>(
            "http.server.request.duration",
            "s",
            "Duration of HTTP server requests."
        );
        _meter = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(_meterSource.Name)
            .AddOtlpExporter(
                (o, reader) =>
                {
                    Otlp(o, "metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 1000;
                    reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                }
            )
            .Build();
        _logs = LoggerFactory.Create(b =>
            b.AddOpenTelemetry(o =>
            {
                o.SetResourceBuilder(resource);
                o.IncludeFormattedMessage = true;
                o.AddOtlpExporter(e =>
                {
                    Otlp(e, "logs");
                    e.BatchExportProcessorOptions.ScheduledDelayMilliseconds = 500;
                });
            })
        );
        Logger = _logs.CreateLogger("shop." + name);
    }

    public void Dispose()
    {
        _tracer.Dispose();
        _logs.Dispose();
        _meter.Dispose();
        _meterSource.Dispose();
        Source.Dispose();
    }
}

sealed record Args(
    string Endpoint,
    string? Header,
    int NormalSeconds,
    int FaultSeconds,
    string Faulty,
    double Rps,
    string Cluster
)
{
    public static Args Parse(string[] args)
    {
        string? Get(string name)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        int Int(string name, int fallback) =>
            Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new Args(
            Get("--endpoint") ?? throw new ArgumentException("--endpoint URL is required"),
            Get("--header"),
            Int("--normal-seconds", 50),
            Int("--fault-seconds", 20),
            Get("--faulty") ?? "payment",
            Get("--rps") is { } r ? double.Parse(r, CultureInfo.InvariantCulture) : 25,
            Get("--cluster") ?? "otel-sdk-shop"
        );
    }
}
