using Confluent.Kafka;
using LogWhisperer.Kafka;
using LogWhisperer.Pipeline;
using LogWhisperer.Sinks;

namespace LogWhisperer.Tests;

/// <summary>Verdict feedback over the Kafka feedback topic (librdkafka's mock cluster: the real wire
/// protocol).</summary>
[Collection(SeveralEnginesCollection.Name)]
public class KafkaFeedbackTests(MockClusterFixture fixture) : IClassFixture<MockClusterFixture>
{
    [Fact]
    public async Task FeedbackMessagesAreAppliedAndBadOnesDeadLetteredWithoutStoppingTheConsumer()
    {
        var settings = new KafkaSettings
        {
            BootstrapServers = fixture.Cluster.BootstrapServers,
            GroupId = "feedback-" + Guid.NewGuid().ToString("n"),
        };
        string topic = "feedback-" + Guid.NewGuid().ToString("n");
        fixture.Cluster.CreateTopic(topic, 1);
        using (
            var producer = new ProducerBuilder<Null, string>(
                new ProducerConfig { BootstrapServers = settings.BootstrapServers }
            ).Build()
        )
        {
            foreach (
                var body in new[]
                {
                    """{"incidentId":"inc-shop-1","verdict":"rootCause","service":"cartservice","by":"oncall@example.com"}""",
                    """{"incidentId":"inc-shop-404","verdict":"confirm"}""",
                    """not json""",
                    """{"incidentId":"inc-shop-1","verdict":"probably"}""",
                    """{"incidentId":"inc-shop-1","verdict":"confirm"}""",
                }
            )
                await producer.ProduceAsync(topic, new Message<Null, string> { Value = body });
        }
        var applied = new List<VerdictFeedback>();
        var dlq = new MemoryDeadLetterSink();
        var consumer = new KafkaFeedbackConsumer(
            settings,
            topic,
            f =>
            {
                lock (applied)
                    applied.Add(f);
                return f.IncidentId == "inc-shop-1";
            },
            dlq
        );
        using var stop = new CancellationTokenSource();
        var running = consumer.RunAsync(stop.Token);
        await TestData.WaitUntilAsync(
            () => consumer.Applied + consumer.Rejected >= 5 || running.IsCompleted,
            TestData.Generous
        );
        await stop.CancelAsync();
        await running;

        Assert.Equal((2, 3), (consumer.Applied, consumer.Rejected));
        Assert.Equal("cartservice", applied[0].Service);
        Assert.Equal(
            [
                "unknown incident 'inc-shop-404'",
                "not feedback JSON",
                "unknown verdict 'probably': expected confirm, reject or rootCause",
            ],
            dlq.Letters.Select(l => l.Reason.StartsWith("not feedback JSON") ? "not feedback JSON" : l.Reason)
        );
        Assert.All(dlq.Letters, l => Assert.Equal(("feedback", DeadLetterCode.InvalidFeedback), (l.Stage, l.Code)));
        Assert.Equal("not json", dlq.Letters[1].Payload); // the raw message is kept
    }
}
