using LogWhisperer.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace LogWhisperer.Cli.Observability;

/// <summary>
/// Exports the engine's own instruments (<see cref="EngineMetrics"/>) and stage traces
/// (<see cref="StageMetrics.Tracing"/>) with the OpenTelemetry SDK: Prometheus scraping at /metrics on the
/// engine's web server, and OTLP to a collector when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set,
/// so LogWhisperer is observable by the same stack it analyses.
/// </summary>
internal static class EngineTelemetry
{
    public const string ServiceName = "logwhisperer";

    /// <summary>Serves <paramref name="metrics"/> (and no other engine's) at /metrics in the Prometheus text
    /// format.</summary>
    public static void AddPrometheus(WebApplicationBuilder builder, EngineMetrics metrics) =>
        AddPrometheus(builder, EngineMetrics.MeterName, metrics.Owns);

    /// <summary>Serves the instruments of one meter that <paramref name="owns"/> accepts (this process may hold several
    /// engines or gateways) at /metrics in the Prometheus text format.</summary>
    public static void AddPrometheus(
        WebApplicationBuilder builder,
        string meterName,
        Func<System.Diagnostics.Metrics.Instrument, bool> owns
    ) =>
        builder
            .Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName))
            .WithMetrics(m =>
                m.AddMeter(meterName)
                    .AddView(instrument => owns(instrument) ? null : MetricStreamConfiguration.Drop)
                    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0)
            );

    public static void MapPrometheus(WebApplication app) => app.MapPrometheusScrapingEndpoint("/metrics");

    /// <summary>
    /// Metrics and stage traces over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (protocol, headers and
    /// intervals from the other standard <c>OTEL_*</c> variables); null otherwise.
    /// </summary>
    public static IDisposable? StartOtlp(EngineMetrics metrics)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
            return null;
        var resource = ResourceBuilder.CreateDefault().AddService(ServiceName);
        var meters = Instruments(Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource), metrics)
            .AddOtlpExporter()
            .Build();
        var tracer = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(StageMetrics.ActivitySourcePrefix + "*")
            .AddOtlpExporter()
            .Build();
        return new Both(meters, tracer);
    }

    private static MeterProviderBuilder Instruments(MeterProviderBuilder builder, EngineMetrics metrics) =>
        builder
            .AddMeter(EngineMetrics.MeterName)
            // Several engines may share a process (tests): each exporter takes one engine's instruments only.
            .AddView(instrument => metrics.Owns(instrument) ? null : MetricStreamConfiguration.Drop);

    private sealed class Both(MeterProvider meters, TracerProvider tracer) : IDisposable
    {
        public void Dispose()
        {
            meters.Dispose();
            tracer.Dispose();
        }
    }
}
