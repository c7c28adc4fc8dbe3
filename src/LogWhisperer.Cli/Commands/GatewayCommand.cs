using System.CommandLine;
using LogWhisperer.Cli.Gateway;
using LogWhisperer.Kafka;

namespace LogWhisperer.Cli.Commands;

/// <summary>`gateway`: HTTP push endpoints (Loki, remote-write, OTLP/HTTP traces and metrics) that write into the Kafka topics.</summary>
internal static class GatewayCommand
{
    public static Command Create()
    {
        var bootstrap = new Option<string>("--bootstrap", "-b") { Description = "Kafka bootstrap servers", Required = true };
        var config = new Option<string[]>("--kafka-config", "-X") { Description = "librdkafka property key=value, repeatable" };
        var url = new Option<string>("--url") { Description = "Listen address", DefaultValueFactory = _ => "http://0.0.0.0:3100" };
        var token = new Option<string?>("--bearer-token") { Description = "Require Authorization: Bearer <token> (default: the LOGWHISPERER_GATEWAY_TOKEN environment variable, if set)" };
        var maxBytes = new Option<long>("--max-request-bytes") { Description = "Largest request body accepted (413 above)", DefaultValueFactory = _ => 16 << 20 };
        var command = new Command("gateway", "Ingest gateway: Loki push (/loki/api/v1/push), Prometheus remote-write (/api/v1/write), OTLP/HTTP traces and metrics (/v1/traces, /v1/metrics) → Kafka")
        {
            bootstrap, config, url, token, maxBytes,
        };
        command.SetAction((parse, _) => CliSupport.Guard(async () =>
        {
            var options = new GatewayOptions
            {
                Kafka = new KafkaSettings { BootstrapServers = parse.GetValue(bootstrap)!, ClientConfig = KafkaSettings.ParseProperties(parse.GetValue(config) ?? []) },
                Url = parse.GetValue(url)!,
                BearerToken = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("LOGWHISPERER_GATEWAY_TOKEN"),
                MaxRequestBytes = parse.GetValue(maxBytes),
            };
            await using var gateway = new IngestGateway(options);
            await gateway.StartAsync();
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
