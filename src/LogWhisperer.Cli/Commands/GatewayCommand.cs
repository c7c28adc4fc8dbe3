using System.CommandLine;
using LogWhisperer.Cli.Configuration;
using LogWhisperer.Cli.Gateway;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Commands;

/// <summary>`gateway`: HTTP push endpoints (Loki, remote-write, OTLP/HTTP traces and metrics) that write into the Kafka
/// topics.</summary>
internal static class GatewayCommand
{
    public static Command Create()
    {
        // Every option is an override of a setting (see Configuration/ and `logwhisperer config reference`).
        var settingsOptions = SettingsOptions.For(CliCommands.Gateway);
        var command = new Command(
            "gateway",
            "Ingest gateway: Loki push (/loki/api/v1/push), Prometheus remote-write (/api/v1/write), "
                + "OTLP/HTTP traces and metrics (/v1/traces, /v1/metrics) → Kafka"
        );
        settingsOptions.AddTo(command);
        command.SetAction(
            (parse, _) =>
                CliSupport.Guard(async () =>
                {
                    var (config, configuration) = settingsOptions.Load(parse);
                    if (config.Gateway.DeliveryTimeoutSeconds <= 0)
                    {
                        throw Setting
                            .Of((GatewaySection g) => g.DeliveryTimeoutSeconds)
                            .Invalid(config.Gateway.DeliveryTimeoutSeconds, "a number of seconds > 0");
                    }
                    var shutdownTimeout = config.Host.ShutdownTimeout();
                    return await Hosting.ServiceHost.RunAsync(
                        shutdownTimeout,
                        async life =>
                        {
                            using var loggers = EngineLogging.Create(configuration);
                            var log = loggers.CreateLogger("LogWhisperer.Gateway");
                            var options = new GatewayOptions
                            {
                                Kafka = config.Kafka.ToKafkaSettings(),
                                Http = new HttpSecurityOptions
                                {
                                    Listen = config.Gateway.Listen,
                                    BearerToken = string.IsNullOrEmpty(config.Gateway.BearerToken)
                                        ? null
                                        : config.Gateway.BearerToken,
                                    MaxRequestBytes = config.Gateway.MaxRequestBytes,
                                    TlsCertificatePath = config.Gateway.TlsCertificatePath,
                                    TlsKeyPath = config.Gateway.TlsKeyPath,
                                    RateLimitPerSecond = config.Gateway.RateLimitPerSecond,
                                },
                                DeliveryTimeout = TimeSpan.FromSeconds(config.Gateway.DeliveryTimeoutSeconds),
                                MaxConcurrentBodies =
                                    config.Gateway.MaxConcurrentBodies > 0
                                        ? config.Gateway.MaxConcurrentBodies
                                        : Math.Clamp(Environment.ProcessorCount, 2, 8),
                                Log = log,
                            };
                            EngineLogging.LogSettings(
                                loggers.CreateLogger("LogWhisperer.Settings"),
                                config,
                                "Kafka",
                                "Gateway",
                                "Host"
                            );
                            await using var gateway = new IngestGateway(options);
                            await gateway.StartAsync();
                            if (
                                options.Http.BearerToken is null
                                && !System.Net.IPAddress.IsLoopback(
                                    HttpSecurity.ParseListen(options.Http.Listen).Address
                                )
                            )
                                log.LogWarning("the gateway is exposed beyond loopback without a bearer token");
                            log.LogInformation(
                                "gateway listening on {Urls} → Kafka {Bootstrap}; "
                                    + "authentication {Auth}; probes /healthz, /readyz; metrics /metrics",
                                string.Join(", ", gateway.Urls),
                                options.Kafka.BootstrapServers,
                                options.Http.BearerToken is null ? "off" : "bearer token"
                            );
                            if (!gateway.KafkaReachable)
                                log.LogWarning(
                                    "kafka: cannot reach {Bootstrap}: not ready; "
                                        + "requests get 503 with Retry-After until it answers",
                                    options.Kafka.BootstrapServers
                                );
                            try
                            {
                                await Task.Delay(Timeout.Infinite, life.Stop);
                            }
                            catch (OperationCanceledException) { }
                            // stops taking requests, finishes those in flight, flushes the producer
                            await gateway.DisposeAsync();
                            Console.Error.WriteLine(
                                $"{gateway.Accepted} request(s) accepted, {gateway.Rejected} rejected"
                            );
                            return ExitCodes.Ok;
                        }
                    );
                })
        );
        return command;
    }
}
