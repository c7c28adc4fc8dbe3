using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Sinks;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Kafka;

/// <summary>
/// Verdict feedback from a Kafka topic (for tools that judge incidents elsewhere: a ticket system, a chat
/// bot): each message is the JSON of <see cref="VerdictFeedback"/> ({"incidentId", "verdict", "service",
/// "note", "by"}), applied as the console's POST /api/incidents/{id}/feedback would. A message that cannot be
/// applied (not JSON, an invalid verdict, an unknown incident) is counted, logged and dead-lettered with its
/// raw bytes; it never stops the engine. Its own consumer group (&lt;group&gt;.feedback) commits after each message.
/// </summary>
public sealed class KafkaFeedbackConsumer(
    KafkaSettings settings,
    string topic,
    Func<VerdictFeedback, bool> apply,
    IDeadLetterSink deadLetters,
    ILogger? log = null
)
{
    private long _applied,
        _rejected;
    private int _consumeErrors;

    public long Applied => Interlocked.Read(ref _applied);
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Consumes until <paramref name="stop"/> (or, with <paramref name="untilIdle"/>, until the topic has been
    /// idle that long).</summary>
    public Task RunAsync(CancellationToken stop, TimeSpan? untilIdle = null) =>
        Task.Run(
            () =>
            {
                using var consumer = new ConsumerBuilder<byte[]?, byte[]>(
                    settings.Apply(
                        new ConsumerConfig
                        {
                            GroupId = settings.GroupId + ".feedback",
                            AutoOffsetReset = AutoOffsetReset.Earliest,
                            EnableAutoCommit = false,
                        }
                    )
                ).Build();
                consumer.Subscribe(topic);
                var idleSince = DateTime.UtcNow;
                try
                {
                    while (!stop.IsCancellationRequested)
                    {
                        ConsumeResult<byte[]?, byte[]>? result;
                        try
                        {
                            result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                        }
                        catch (ConsumeException e)
                        {
                            // No feedback topic yet (nobody has produced any): not a fault, keep polling until it
                            // appears.
                            if (
                                e.Error.Code is not (ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic)
                                && _consumeErrors++ % 100 == 0
                            )
                                log?.LogWarning("feedback topic {Topic}: {Reason}", topic, e.Error.Reason);
                            result = null;
                        }
                        if (result?.Message is null)
                        {
                            if (untilIdle is { } idle && DateTime.UtcNow - idleSince > idle)
                                break;
                            continue;
                        }
                        idleSince = DateTime.UtcNow;
                        Handle(result);
                        consumer.Commit(result);
                    }
                }
                finally
                {
                    consumer.Close();
                }
            },
            CancellationToken.None
        );

    private void Handle(ConsumeResult<byte[]?, byte[]> result)
    {
        string? problem;
        try
        {
            var feedback = JsonSerializer.Deserialize<VerdictFeedback>(result.Message.Value, VerdictFeedback.Json);
            problem = feedback is null
                ? "empty message"
                : feedback.Problem() ?? (apply(feedback) ? null : $"unknown incident '{feedback.IncidentId}'");
        }
        catch (JsonException e)
        {
            problem = "not feedback JSON: " + e.Message;
        }
        if (problem is null)
        {
            Interlocked.Increment(ref _applied);
            return;
        }
        Interlocked.Increment(ref _rejected);
        log?.LogWarning(
            "feedback message {Topic}[{Partition}]@{Offset} rejected: {Problem}",
            result.Topic,
            result.Partition.Value,
            result.Offset.Value,
            problem
        );
        deadLetters.Write(
            new DeadLetter(
                "feedback",
                DeadLetterCode.InvalidFeedback,
                problem,
                Encoding.UTF8.GetString(result.Message.Value)
            )
        );
    }
}
