using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources;

/// <summary>Where a pull source starts and how it follows.</summary>
public sealed record PullOptions
{
    public required DateTimeOffset Start { get; init; }

    /// <summary>Stop here; null = follow the present (poll every <see cref="Step"/>, staying <see cref="Delay"/> behind
    /// now).</summary>
    public DateTimeOffset? End { get; init; }

    /// <summary>Event time fetched per request.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How far behind the present a followed source stays, so late ingestion is not missed.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Further attempts of a request that failed transiently (connection error, timeout, HTTP 5xx).</summary>
    public int Retries { get; init; } = 4;

    /// <summary>Wait before the first retry; doubled before each next one.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Runs one request, retrying transient failures: a server restarting or briefly overloaded must not end a
    /// long-running pull, while one that stays down still fails it (with its last error) after the retries.
    /// </summary>
    public async Task<T> WithRetriesAsync<T>(
        Func<CancellationToken, Task<T>> request,
        CancellationToken cancellationToken
    )
    {
        var backoff = RetryBackoff;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await request(cancellationToken);
            }
            catch (Exception e)
                when (attempt < Retries
                    && !cancellationToken.IsCancellationRequested
                    && e
                        is HttpRequestException { StatusCode: null or >= System.Net.HttpStatusCode.InternalServerError }
                            or TaskCanceledException
                )
            {
                await Task.Delay(backoff, cancellationToken);
                backoff *= 2;
            }
        }
    }

    /// <summary>
    /// The event-time ranges [From, To) to fetch, in order: up to <see cref="End"/>, or following the present
    /// (waiting a step whenever it has caught up to now minus <see cref="Delay"/>).
    /// </summary>
    public async IAsyncEnumerable<(DateTimeOffset From, DateTimeOffset To)> Steps(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        var from = Start;
        while (!cancellationToken.IsCancellationRequested)
        {
            var end = End ?? DateTimeOffset.UtcNow - Delay;
            if (from >= end)
            {
                if (End is not null)
                    yield break;
                await Task.Delay(Step, cancellationToken);
                continue;
            }
            var to = from + Step < end ? from + Step : end;
            yield return (from, to);
            from = to;
        }
    }
}

/// <summary>
/// Logs pulled from Loki's HTTP API (GET /loki/api/v1/query_range, direction=forward, paged by limit) for teams
/// without Kafka. There is no Loki client on NuGet; this is HttpClient + System.Text.Json.
/// </summary>
public sealed class LokiPullSource(
    HttpClient http,
    Uri baseUrl,
    string logQl,
    PullOptions pull,
    DecodeOptions decode,
    int limit = 5000
) : ITelemetrySource
{
    private readonly LokiJsonDecoder _decoder = new(decode);

    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        await foreach (var (from, to) in pull.Steps(cancellationToken))
        {
            // Page through [from, to): Loki returns at most `limit` entries, oldest first.
            long startNs = from.ToUnixTimeMilliseconds() * 1_000_000,
                endNs = to.ToUnixTimeMilliseconds() * 1_000_000;
            while (true)
            {
                var url = new Uri(
                    baseUrl,
                    $"loki/api/v1/query_range?query={Uri.EscapeDataString(logQl)}&start={startNs}&end={endNs}&limit={limit}&direction=forward"
                );
                var page = new List<TelemetryRecord>();
                long lastNs = await pull.WithRetriesAsync(
                    async ct =>
                    {
                        page.Clear();
                        return await QueryAsync(url, page, ct);
                    },
                    cancellationToken
                );
                if (page.Count > 0)
                    yield return page;
                if (page.Count < limit || lastNs < startNs)
                    break;
                startNs = lastNs + 1;
            }
        }
    }

    private async Task<long> QueryAsync(Uri url, List<TelemetryRecord> output, CancellationToken ct)
    {
        using var response = await http.GetAsync(url, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        if ((int)response.StatusCode >= 500)
            throw new HttpRequestException(
                $"loki: HTTP {(int)response.StatusCode}: "
                    + $"{System.Text.Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200)))}",
                null,
                response.StatusCode
            );
        if (!response.IsSuccessStatusCode)
            throw new InvalidDataException(
                $"loki: HTTP {(int)response.StatusCode}: "
                    + $"{System.Text.Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200)))}"
            );
        using var doc = JsonDocument.Parse(body);
        var data = doc.RootElement.GetProperty("data");
        if (data.GetProperty("resultType").GetString() != "streams")
            throw new InvalidDataException(
                "loki: query_range of a log query must answer streams (is the query a metric query?)"
            );
        int before = output.Count;
        _decoder.DecodeStreams(data.GetProperty("result"), output);
        output.Sort(
            before,
            output.Count - before,
            Comparer<TelemetryRecord>.Create((a, b) => a.TimestampMs.CompareTo(b.TimestampMs))
        );
        // Paging needs the newest entry's exact nanoseconds, which the ms records lose: take it from the answer.
        long lastNs = long.MinValue;
        foreach (var stream in data.GetProperty("result").EnumerateArray())
        foreach (var v in stream.GetProperty("values").EnumerateArray())
            lastNs = Math.Max(lastNs, long.Parse(v[0].GetString()!, CultureInfo.InvariantCulture));
        return lastNs;
    }
}

/// <summary>
/// Metrics pulled from Prometheus's HTTP API (query_range) for teams without Kafka: each PromQL expression's
/// series become <see cref="MetricSample"/>s named by their __name__ (or the expression's configured name).
/// </summary>
public sealed class PrometheusPullSource(
    PrometheusClient prometheus,
    IReadOnlyDictionary<string, string> queries,
    PullOptions pull,
    DecodeOptions decode,
    TimeSpan resolution
) : ITelemetrySource
{
    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        await foreach (var (from, to) in pull.Steps(cancellationToken))
        {
            var batch = new List<TelemetryRecord>();
            foreach (var (name, promql) in queries)
            {
                // query_range includes both ends; the next step starts one resolution later so no sample repeats.
                var answer = await pull.WithRetriesAsync(
                    ct => prometheus.QueryRangeAsync(promql, from, to - TimeSpan.FromMilliseconds(1), resolution, ct),
                    cancellationToken
                );
                foreach (var series in answer)
                {
                    var labels = new Dictionary<string, string>(series.Labels);
                    labels.Remove("__name__", out var metric);
                    string cluster = decode.ClusterOf(labels),
                        service = decode.ServiceOfMetric(labels);
                    foreach (var (ts, value) in series.Samples)
                        batch.Add(
                            new MetricSample(
                                ts,
                                cluster,
                                service,
                                metric ?? name,
                                value,
                                labels.Count == 0 ? null : labels
                            )
                        );
                }
            }
            batch.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
            if (batch.Count > 0)
                yield return batch;
        }
    }
}

/// <summary>Reconnection and start of a <see cref="LokiTailSource"/>.</summary>
public sealed record LokiTailOptions
{
    /// <summary>First entry time wanted (Loki's tail start); null = Loki's default (one hour back).</summary>
    public DateTimeOffset? Start { get; init; }

    /// <summary>Seconds Loki waits before sending, so slightly late entries are still in order (its delay_for, at most
    /// 5).</summary>
    public int DelayForSeconds { get; init; }

    /// <summary>Entries Loki sends on (re)connecting at most (its limit).</summary>
    public int Limit { get; init; } = 1000;
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Logs followed live from Loki's tail WebSocket (GET /loki/api/v1/tail?query=…, one JSON message per
/// batch: {"streams":[{"stream":{labels},"values":[[ns, line]]}],"dropped_entries":[{"labels","timestamp"}]}).
/// Lower latency than polling query_range. On a broken connection it reconnects with exponential backoff,
/// starting just after the newest entry it has seen so nothing repeats. Loki drops entries when a tailer falls
/// behind and says so in dropped_entries: they are counted in <see cref="DroppedEntries"/>, never hidden.
/// </summary>
public sealed class LokiTailSource(
    Uri baseUrl,
    string logQl,
    DecodeOptions decode,
    LokiTailOptions? options = null,
    Pipeline.IDeadLetterSink? deadLetters = null
) : ITelemetrySource
{
    private readonly LokiTailOptions _options = options ?? new LokiTailOptions();
    private readonly LokiJsonDecoder _decoder = new(decode);
    private long _dropped,
        _reconnects,
        _undecodable;

    /// <summary>Entries Loki reported it dropped for this tailer (it fell behind).</summary>
    public long DroppedEntries => Interlocked.Read(ref _dropped);

    /// <summary>Connections lost or refused and tried again.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Messages that were not a tail message (counted, dead-lettered and skipped: the stream goes
    /// on).</summary>
    public long Undecodable => Interlocked.Read(ref _undecodable);

    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        long? startNs = _options.Start is { } s ? s.ToUnixTimeMilliseconds() * 1_000_000 : null;
        var backoff = _options.MinBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            using var socket = await ConnectAsync(TailUri(startNs), cancellationToken);
            if (socket is null)
            {
                if (cancellationToken.IsCancellationRequested)
                    yield break;
                Interlocked.Increment(ref _reconnects);
                // cancelled: loop ends
                await Task.Delay(backoff, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
                continue;
            }
            backoff = _options.MinBackoff;
            while (await ReceiveAsync(socket, cancellationToken) is { } message)
            {
                var batch = new List<TelemetryRecord>();
                long newestNs = Decode(message, batch);
                if (newestNs != long.MinValue)
                    startNs = newestNs + 1; // a reconnect resumes after what was seen
                if (batch.Count > 0)
                    yield return batch;
            }
            if (cancellationToken.IsCancellationRequested)
                yield break;
            Interlocked.Increment(ref _reconnects); // the server closed or the connection broke: try again
        }
    }

    private Uri TailUri(long? startNs)
    {
        var query =
            $"loki/api/v1/tail?query={Uri.EscapeDataString(logQl)}&limit={_options.Limit}&delay_for={_options.DelayForSeconds}";
        if (startNs is { } ns)
            query += $"&start={ns}";
        var ws = new UriBuilder(new Uri(baseUrl, query)) { Scheme = baseUrl.Scheme == "https" ? "wss" : "ws" };
        return ws.Uri;
    }

    private static async Task<System.Net.WebSockets.ClientWebSocket?> ConnectAsync(Uri uri, CancellationToken ct)
    {
        var socket = new System.Net.WebSockets.ClientWebSocket();
        try
        {
            await socket.ConnectAsync(uri, ct);
            return socket;
        }
        catch (Exception e)
            when (e is System.Net.WebSockets.WebSocketException or HttpRequestException or OperationCanceledException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>The next whole text message, or null when the connection closed, broke or was cancelled.</summary>
    private static async Task<byte[]?> ReceiveAsync(System.Net.WebSockets.ClientWebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, ct);
                if (result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                    return null;
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                    return message.ToArray();
            }
        }
        catch (Exception e)
            when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    /// <summary>Decodes one tail message into <paramref name="output"/> (oldest first); returns its newest entry's
    /// nanoseconds.</summary>
    private long Decode(byte[] message, List<TelemetryRecord> output)
    {
        try
        {
            using var doc = JsonDocument.Parse(message);
            var root = doc.RootElement;
            if (root.TryGetProperty("dropped_entries", out var dropped) && dropped.ValueKind == JsonValueKind.Array)
                Interlocked.Add(ref _dropped, dropped.GetArrayLength());
            if (!root.TryGetProperty("streams", out var streams) || streams.ValueKind != JsonValueKind.Array)
                return long.MinValue;
            _decoder.DecodeStreams(streams, output);
            output.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
            long newestNs = long.MinValue;
            foreach (var stream in streams.EnumerateArray())
            foreach (var v in stream.GetProperty("values").EnumerateArray())
                newestNs = Math.Max(newestNs, long.Parse(v[0].GetString()!, CultureInfo.InvariantCulture));
            return newestNs;
        }
        catch (Exception e)
            when (e
                    is JsonException
                        or InvalidDataException
                        or FormatException
                        or InvalidOperationException
                        or KeyNotFoundException
            )
        {
            output.Clear();
            Interlocked.Increment(ref _undecodable);
            deadLetters?.Write(
                new Pipeline.DeadLetter(
                    "decode",
                    Pipeline.DeadLetterCode.Undecodable,
                    $"loki tail: {e.Message}",
                    System.Text.Encoding.UTF8.GetString(message)
                )
            );
            return long.MinValue;
        }
    }
}
