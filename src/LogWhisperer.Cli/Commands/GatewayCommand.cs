using System.CommandLine;
using LogWhisperer.Cli.Gateway;
using LogWhisperer.Kafka;

namespace LogWhisperer.Cli.Commands;

/// <summary>`gateway`: HTTP push endpoints (Loki, remote-write, OTLP/HTTP) that write into the Kafka topics.</summary>
internal static class GatewayCommand
{
    public static Command Create()
    {
        var bootstrap = new Option<string>("--bootstrap", "-b") { Description = "Kafka bootstrap servers", Required = true };
        var config = new Option<string[]>("--kafka-config", "-X") { Description = "librdkafka property key=value, repeatable" };
        var listen = new Option<string>("--listen") { Description = "host:port to listen on; loopback unless told otherwise (0.0.0.0:3100 to expose)", DefaultValueFactory = _ => "127.0.0.1:3100" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "TLS certificate, PEM (with --tls-key); or configure Kestrel:Endpoints:Https in appsettings.json" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "TLS private key, PEM" };
        var rate = new Option<int>("--rate-limit") { Description = "Requests per second per client, 0 = unlimited (429 with Retry-After above)", DefaultValueFactory = _ => 200 };
        var token = new Option<string?>("--bearer-token") { Description = "Require Authorization: Bearer <token> (default: the LOGWHISPERER_GATEWAY_TOKEN environment variable, if set)" };
        var maxBytes = new Option<long>("--max-request-bytes") { Description = "Largest request body accepted (413 above)", DefaultValueFactory = _ => 16 << 20 };
        var command = new Command("gateway", "Ingest gateway: Loki push (/loki/api/v1/push), Prometheus remote-write (/api/v1/write), OTLP/HTTP traces (/v1/traces) → Kafka")
        {
            bootstrap, config, listen, token, maxBytes, tlsCert, tlsKey, rate,
        };
        command.SetAction((parse, _) => CliSupport.Guard(async () =>
        {
            var options = new GatewayOptions
            {
                Kafka = new KafkaSettings { BootstrapServers = parse.GetValue(bootstrap)!, ClientConfig = KafkaSettings.ParseProperties(parse.GetValue(config) ?? []) },
                Http = new HttpSecurityOptions
                {
                    Listen = parse.GetValue(listen)!,
                    BearerToken = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("LOGWHISPERER_GATEWAY_TOKEN"),
                    MaxRequestBytes = parse.GetValue(maxBytes),
                    TlsCertificatePath = parse.GetValue(tlsCert), TlsKeyPath = parse.GetValue(tlsKey),
                    RateLimitPerSecond = parse.GetValue(rate),
                },
            };
            await using var gateway = new IngestGateway(options);
            await gateway.StartAsync();
            if (options.Http.BearerToken is null && !System.Net.IPAddress.IsLoopback(HttpSecurity.ParseListen(options.Http.Listen).Address))
                Console.Error.WriteLine("warning: the gateway is exposed beyond loopback without --bearer-token");
            Console.Error.WriteLine($"gateway listening on {string.Join(", ", gateway.Urls)} → Kafka {options.Kafka.BootstrapServers}; Ctrl-C to stop");
            var done = new TaskCompletionSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; done.TrySetResult(); };
            await done.Task;
            Console.Error.WriteLine($"{gateway.Accepted} request(s) accepted, {gateway.Rejected} rejected");
            return 0;
        }));
        return command;
    }
}
