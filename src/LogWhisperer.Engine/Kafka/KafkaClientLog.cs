using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Kafka;

/// <summary>Forwards librdkafka's own messages into the engine's log (librdkafka redacts credentials in them itself).</summary>
public static class KafkaClientLog
{
    public static Action<IClient, LogMessage> To(ILogger log) => (_, m) =>
        log.Log((LogLevel)m.LevelAs(LogLevelType.MicrosoftExtensionsLogging), "librdkafka {Facility}: {Message}", m.Facility, m.Message);
}
