using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Kafka;

/// <summary>
/// Forwards librdkafka's own messages into the engine's log (librdkafka redacts credentials in them itself).
/// Connection errors go through the cluster's <see cref="KafkaOutageLog"/>: once per outage, then a summary every 30 s.
/// </summary>
public static class KafkaClientLog
{
    public static Action<IClient, LogMessage> To(ILogger log, KafkaSettings settings)
    {
        var outage = KafkaOutageLog.For(log, settings.BootstrapServers);
        return (_, m) =>
        {
            var level = (LogLevel)m.LevelAs(LogLevelType.MicrosoftExtensionsLogging);
            if (level >= LogLevel.Warning && KafkaOutageLog.IsConnectionTrouble(m))
                outage.Report(m.Message);
            else
                log.Log(level, "librdkafka {Facility}: {Message}", m.Facility, m.Message);
        };
    }

    /// <summary>For clients built without a logger: librdkafka would print every message on stderr itself; only outages
    /// are worth a line.</summary>
    public static Action<IClient, LogMessage> OutagesOnly(ILogger log, KafkaSettings settings)
    {
        var outage = KafkaOutageLog.For(log, settings.BootstrapServers);
        return (_, m) =>
        {
            if (m.Level <= SyslogLevel.Warning && KafkaOutageLog.IsConnectionTrouble(m))
                outage.Report(m.Message);
        };
    }
}
