using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Kafka;

/// <summary>
/// Whether the brokers answer, asked with a metadata request: once at start (<see cref="WaitUntilReachableAsync"/>,
/// retried with backoff up to a deadline) and then every few seconds in the background (<see cref="Reachable"/>,
/// for readiness probes and for the gateway to refuse fast while Kafka is down).
/// </summary>
public sealed class KafkaConnectivity : IDisposable
{
    private readonly IAdminClient _admin;
    private readonly CancellationTokenSource _stop = new();
    private Task? _probing;
    private volatile bool _reachable;
    private volatile string? _lastError;

    /// <summary>The last metadata request was answered.</summary>
    public bool Reachable => _reachable;

    /// <summary>Why the last metadata request failed (null while reachable).</summary>
    public string? LastError => _lastError;
    public string BootstrapServers { get; }

    public KafkaConnectivity(KafkaSettings settings)
    {
        BootstrapServers = settings.BootstrapServers;
        // The probe's own connection errors are its answer, not news: librdkafka's messages about them are dropped
        // (the clients that move data report outages, summarised, through KafkaClientLog).
        _admin = new AdminClientBuilder(settings.Apply(new AdminClientConfig { SocketTimeoutMs = 3000 }))
            .SetLogHandler((_, _) => { })
            .SetErrorHandler((_, _) => { })
            .Build();
    }

    /// <summary>One metadata request; true when a broker answered.</summary>
    public bool Probe(TimeSpan timeout)
    {
        try
        {
            var metadata = _admin.GetMetadata(timeout);
            _reachable = metadata.Brokers.Count > 0;
            _lastError = _reachable ? null : "no broker in the metadata";
        }
        catch (KafkaException e)
        {
            _reachable = false;
            _lastError = e.Error.Reason;
        }
        return _reachable;
    }

    /// <summary>
    /// Asks until a broker answers, waiting 1 s, 2 s, 4 s … (at most 10 s) between tries; false when the deadline
    /// passed first. <paramref name="onRetry"/> hears each failed try (its reason and the next wait).
    /// </summary>
    public async Task<bool> WaitUntilReachableAsync(
        TimeSpan deadline,
        Action<string, TimeSpan>? onRetry = null,
        CancellationToken cancellationToken = default
    )
    {
        var clock = Stopwatch.StartNew();
        var wait = TimeSpan.FromSeconds(1);
        while (true)
        {
            var left = deadline - clock.Elapsed;
            // leaves time for the retries
            var timeout = TimeSpan.FromSeconds(Math.Clamp(left.TotalSeconds / 2, 0.5, 3));
            if (await Task.Run(() => Probe(timeout), cancellationToken))
                return true;
            left = deadline - clock.Elapsed;
            if (left <= TimeSpan.Zero)
                return false;
            var pause = wait < left ? wait : left;
            onRetry?.Invoke(_lastError ?? "no answer", pause);
            await Task.Delay(pause, cancellationToken);
            wait = TimeSpan.FromSeconds(Math.Min(wait.TotalSeconds * 2, 10));
        }
    }

    /// <summary>Probes every <paramref name="interval"/> in the background until disposed.</summary>
    public void StartProbing(TimeSpan interval)
    {
        _probing ??= Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Probe(TimeSpan.FromSeconds(Math.Min(interval.TotalSeconds, 3)));
                try
                {
                    await Task.Delay(interval, _stop.Token);
                }
                catch (OperationCanceledException) { }
            }
        });
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _probing?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException) { }
        _admin.Dispose();
        _stop.Dispose();
    }
}

/// <summary>
/// librdkafka reports a broker it cannot reach on every reconnect attempt (hundreds of lines a minute, from
/// every client). This reports an outage once, as a warning, then a summary at most every 30 s while it lasts.
/// One per bootstrap address per process, shared by every client talking to it.
/// </summary>
internal sealed class KafkaOutageLog
{
    private static readonly ConcurrentDictionary<string, KafkaOutageLog> PerCluster = new();
    private readonly ILogger _log;
    private readonly string _bootstrap;
    private readonly TimeSpan _summaryEvery;
    private readonly object _lock = new();
    private long _suppressed;
    private DateTime? _lastReport;
    private DateTime _lastError;

    public KafkaOutageLog(ILogger log, string bootstrap, TimeSpan? summaryEvery = null)
    {
        _log = log;
        _bootstrap = bootstrap;
        _summaryEvery = summaryEvery ?? TimeSpan.FromSeconds(30);
    }

    public static KafkaOutageLog For(ILogger log, string bootstrap) =>
        PerCluster.GetOrAdd(bootstrap, b => new KafkaOutageLog(log, b));

    /// <summary>Messages that only say a broker could not be reached (again).</summary>
    public static bool IsConnectionTrouble(LogMessage m) =>
        m.Facility is "FAIL" or "ERROR" or "BROKERFAIL" or "CONNECT"
        || m.Message.Contains("Connection refused", StringComparison.Ordinal)
        || m.Message.Contains("brokers are down", StringComparison.Ordinal)
        || m.Message.Contains("Failed to resolve", StringComparison.Ordinal);

    /// <summary>Takes one connection error; logs it when it starts an outage or a summary is due.</summary>
    public void Report(string message, DateTime? now = null)
    {
        var at = now ?? DateTime.UtcNow;
        lock (_lock)
        {
            // quiet for a while: a new outage
            bool newOutage = _lastReport is null || at - _lastError > _summaryEvery * 2;
            _lastError = at;
            if (newOutage)
            {
                _log.LogWarning(
                    "kafka: cannot reach {Bootstrap}: {Message} (retrying; "
                        + "a summary follows every {Seconds:0} s while this lasts)",
                    _bootstrap,
                    message,
                    _summaryEvery.TotalSeconds
                );
                _lastReport = at;
                _suppressed = 0;
                return;
            }
            _suppressed++;
            if (at - _lastReport!.Value < _summaryEvery)
                return;
            _log.LogWarning(
                "kafka: {Bootstrap} still unreachable: {Count} connection error(s) "
                    + "in the last {Seconds:0} s, latest: {Message}",
                _bootstrap,
                _suppressed,
                (at - _lastReport.Value).TotalSeconds,
                message
            );
            _lastReport = at;
            _suppressed = 0;
        }
    }

    /// <summary>Connection errors reported but not logged since the last line (for tests).</summary>
    public long Suppressed
    {
        get
        {
            lock (_lock)
                return _suppressed;
        }
    }
}
