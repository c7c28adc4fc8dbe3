using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using LogWhisperer.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogWhisperer.Kafka;

/// <summary>
/// The dead-letter topic. Undecodable Kafka messages are written raw (same key, same bytes) with why and
/// where from in headers (lw-reason, lw-stage, lw-format, lw-source-topic, lw-source-partition,
/// lw-source-offset), so they can be inspected and replayed; records the validator rejects later are
/// written as their JSON dead letter. Also usable as the pipeline's <see cref="IDeadLetterSink"/>.
/// </summary>
public sealed class KafkaDeadLetterSink : IDeadLetterSink, IDisposable
{
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly string _topic;
    private long _written,
        _failed;

    public long Written => Interlocked.Read(ref _written);

    private readonly long[] _byCode = new long[Enum.GetValues<DeadLetterCode>().Length];

    /// <summary>Dead letters sent so far, by code ("late 7,283, undecodable 2"): what the summary's one total hides,
    /// over every pipeline of the run (each rebalance starts a new one with counters of its own).</summary>
    public string ByCode() =>
        string.Join(
            ", ",
            Enum.GetValues<DeadLetterCode>()
                .Where(c => Interlocked.Read(ref _byCode[(int)c]) > 0)
                .Select(c => $"{c.Label()} {Interlocked.Read(ref _byCode[(int)c]):N0}")
        );

    /// <summary>Dead letters the broker refused (logged too: nothing vanishes silently).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    private readonly ILogger _log;

    public KafkaDeadLetterSink(KafkaSettings settings, ILogger? log = null)
    {
        _log = log ?? NullLogger.Instance;
        _topic = settings.DeadLetterTopic;
        var builder = new ProducerBuilder<byte[]?, byte[]>(
            settings.Apply(
                new ProducerConfig
                {
                    EnableIdempotence = true,
                    Acks = Acks.All,
                    LingerMs = 5,
                }
            )
        );
        if (log is not null)
            builder.SetLogHandler(KafkaClientLog.To(log, settings)); // else librdkafka prints on stderr itself
        _producer = builder.Build();
    }

    public void WriteRaw(
        byte[]? key,
        byte[] value,
        string reason,
        string format,
        string sourceTopic,
        int partition,
        long offset
    )
    {
        Interlocked.Increment(ref _byCode[(int)DeadLetterCode.Undecodable]);
        Produce(
            key,
            value,
            new Headers
            {
                { "lw-code", Encoding.UTF8.GetBytes(DeadLetterCode.Undecodable.Label()) },
                { "lw-reason", Encoding.UTF8.GetBytes(reason) },
                { "lw-stage", "decode"u8.ToArray() },
                { "lw-format", Encoding.UTF8.GetBytes(format) },
                { "lw-source-topic", Encoding.UTF8.GetBytes(sourceTopic) },
                {
                    "lw-source-partition",
                    Encoding.UTF8.GetBytes(partition.ToString(System.Globalization.CultureInfo.InvariantCulture))
                },
                {
                    "lw-source-offset",
                    Encoding.UTF8.GetBytes(offset.ToString(System.Globalization.CultureInfo.InvariantCulture))
                },
            }
        );
    }

    public void Write(DeadLetter letter)
    {
        Interlocked.Increment(ref _byCode[(int)letter.Code]);
        Produce(
            null,
            JsonSerializer.SerializeToUtf8Bytes(letter),
            new Headers
            {
                { "lw-code", Encoding.UTF8.GetBytes(letter.Code.Label()) },
                { "lw-reason", Encoding.UTF8.GetBytes(letter.Reason) },
                { "lw-stage", Encoding.UTF8.GetBytes(letter.Stage) },
                { "content-type", "application/json"u8.ToArray() },
            }
        );
    }

    private void Produce(byte[]? key, byte[] value, Headers headers)
    {
        _producer.Produce(
            _topic,
            new Message<byte[]?, byte[]>
            {
                Key = key,
                Value = value,
                Headers = headers,
            },
            report =>
            {
                if (report.Error.IsError)
                {
                    Interlocked.Increment(ref _failed);
                    _log.LogError("dead-letter topic {Topic}: write failed: {Reason}", _topic, report.Error.Reason);
                }
                else
                    Interlocked.Increment(ref _written);
            }
        );
    }

    /// <summary>Waits until every dead letter so far is acknowledged (before input offsets are committed).</summary>
    public void Flush(TimeSpan timeout) => _producer.Flush(timeout);

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }
}
