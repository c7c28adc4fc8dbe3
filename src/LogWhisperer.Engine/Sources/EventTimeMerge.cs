using System.Runtime.CompilerServices;
using System.Threading.Channels;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources;

/// <summary>
/// Several sources read at once (Loki logs and Prometheus metrics, say) merged into one stream in event-time
/// order. Each source is read ahead independently; records are held until every live source has shown data
/// at least that new, then released oldest first, so a source that pulls its steps faster does not push the
/// window watermark past records the slower one still has to deliver. A source that has delivered nothing for
/// <paramref name="idleAfter"/> stops holding the others back (a Prometheus query with no series, a quiet tail),
/// and at most <paramref name="maxHeld"/> records are held (the oldest go out beyond it). Ends when all sources end,
/// or when cancelled: a graceful stop (SIGTERM) drains, so what the sources delivered and the merge still holds
/// goes out first, oldest first, instead of being lost with the merge.
/// </summary>
public sealed class EventTimeMerge(IReadOnlyList<ITelemetrySource> sources, TimeSpan idleAfter, int maxHeld = 1 << 20)
    : ITelemetrySource
{
    private readonly record struct Delivery(int Source, IReadOnlyList<TelemetryRecord>? Batch, Exception? Error);

    public async IAsyncEnumerable<IReadOnlyList<TelemetryRecord>> ReadAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        var deliveries = Channel.CreateBounded<Delivery>(new BoundedChannelOptions(16) { SingleReader = true });
        using var stopReaders = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var readers = sources.Select((s, i) => ReadOne(s, i, deliveries.Writer, stopReaders.Token)).ToArray();

        var held = new PriorityQueue<TelemetryRecord, long>();
        var newest = new long[sources.Count];
        var lastHeard = new long[sources.Count];
        var ended = new bool[sources.Count];
        Array.Fill(newest, long.MinValue);
        Array.Fill(lastHeard, Environment.TickCount64);
        int live = sources.Count;
        void Take(Delivery d)
        {
            if (d.Error is not null)
                throw d.Error;
            lastHeard[d.Source] = Environment.TickCount64;
            if (d.Batch is null)
            {
                ended[d.Source] = true;
                live--;
            }
            else
                foreach (var r in d.Batch)
                {
                    held.Enqueue(r, r.TimestampMs);
                    newest[d.Source] = Math.Max(newest[d.Source], r.TimestampMs);
                }
        }
        try
        {
            while (live > 0)
            {
                Delivery? next = null;
                using (var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    // Wake at least every second: idleness releases held records even when nothing arrives.
                    tick.CancelAfter(TimeSpan.FromSeconds(1));
                    try
                    {
                        next = await deliveries.Reader.ReadAsync(tick.Token);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { }
                    catch (OperationCanceledException)
                    {
                        break;
                    } // stopping: drain below
                }
                if (next is { } d)
                    Take(d);
                long low = live == 0 ? long.MaxValue : LowWatermark(newest, lastHeard, ended);
                var release = new List<TelemetryRecord>();
                while (held.TryPeek(out var r, out long ts) && (ts <= low || held.Count > maxHeld))
                {
                    held.Dequeue();
                    release.Add(r);
                }
                if (release.Count > 0)
                    yield return release;
            }
            if (live > 0)
            {
                // Stopped: the sources stop reading, and what they already delivered goes out with the rest.
                stopReaders.Cancel();
                while (deliveries.Reader.TryRead(out var d))
                    Take(d);
                var rest = new List<TelemetryRecord>(held.Count);
                while (held.TryDequeue(out var r, out _))
                    rest.Add(r);
                if (rest.Count > 0)
                    yield return rest;
            }
        }
        finally
        {
            stopReaders.Cancel();
            try
            {
                await Task.WhenAll(readers);
            }
            catch (OperationCanceledException) { }
        }
    }

    private long LowWatermark(long[] newest, long[] lastHeard, bool[] ended)
    {
        long low = long.MaxValue,
            now = Environment.TickCount64;
        for (int i = 0; i < newest.Length; i++)
        {
            if (ended[i] || now - lastHeard[i] >= (long)idleAfter.TotalMilliseconds)
                continue; // finished or idle: holds nobody back
            if (newest[i] == long.MinValue)
                return long.MinValue; // not heard from yet
            low = Math.Min(low, newest[i]);
        }
        return low;
    }

    private static async Task ReadOne(
        ITelemetrySource source,
        int index,
        ChannelWriter<Delivery> output,
        CancellationToken ct
    )
    {
        try
        {
            await foreach (var batch in source.ReadAsync(ct).WithCancellation(ct))
                await output.WriteAsync(new Delivery(index, batch, null), ct);
            await output.WriteAsync(new Delivery(index, null, null), ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception e)
        {
            // A failing source fails the merged stream with its own error (after what was already delivered).
            try
            {
                await output.WriteAsync(new Delivery(index, null, e), ct);
            }
            catch (OperationCanceledException) { }
        }
    }
}
