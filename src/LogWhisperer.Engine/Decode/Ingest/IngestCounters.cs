using System.Collections.Concurrent;

namespace LogWhisperer.Decode;

/// <summary>Why records did not pass ingest unchanged: rejected by a limit, truncated, duplicate, or shed.
/// Thread-safe.</summary>
public sealed class IngestCounters
{
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public void Count(string what) => _counts.AddOrUpdate(what, 1, (_, n) => n + 1);

    public long this[string what] => _counts.GetValueOrDefault(what);

    public long Total(string prefix) =>
        _counts.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(c => c.Value);

    public IReadOnlyDictionary<string, long> Snapshot() =>
        new SortedDictionary<string, long>(_counts, StringComparer.Ordinal);

    public const string Duplicate = "duplicate",
        Truncated = "truncated: line",
        DedupFull = "dedup saturated";
    public const string ShedLog = "shed: debug/info log",
        ShedSpan = "shed: span",
        ShedHard = "shed: over hard limit";
    public const string LimitPrefix = "limit: ";

    public override string ToString() => string.Join(", ", Snapshot().Select(c => $"{c.Key} {c.Value:N0}"));
}
