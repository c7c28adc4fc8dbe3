namespace LogWhisperer.Features.Logs;

/// <summary>
/// The log keys of one service in one window, in event-time order, with each key's template text:
/// what the LogBERT-style model reads. Built by <see cref="LogKeySequenceBuilder"/>.
/// </summary>
internal sealed record LogKeySequence(
    string Service,
    long WindowStartMs,
    IReadOnlyList<int> Templates,
    IReadOnlyList<string> Texts
);

/// <summary>
/// Mines templates from log lines (one <see cref="TemplateMiner"/> per source) and groups their ids into
/// per-(service, window) sequences. Lines are expected roughly in time order per service; each window's
/// lines are sorted by time when the sequences are taken.
/// </summary>
internal sealed class LogKeySequenceBuilder(TemplateMiner miner, long windowMs)
{
    private readonly Dictionary<(string, long), List<(long Ts, int Template)>> _windows = [];

    public TemplateMiner Miner { get; } = miner;

    public void Add(string service, long timestampMs, string message)
    {
        var t = Miner.Parse(service, message, out _);
        long start = timestampMs - ((timestampMs % windowMs) + windowMs) % windowMs;
        if (!_windows.TryGetValue((service, start), out var list))
            _windows[(service, start)] = list = [];
        list.Add((timestampMs, t.Id));
    }

    /// <summary>All sequences so far (template texts as they are now: templates keep generalising).</summary>
    public List<LogKeySequence> Sequences()
    {
        var result = new List<LogKeySequence>(_windows.Count);
        foreach (
            var ((service, start), list) in _windows
                .OrderBy(w => w.Key.Item2)
                .ThenBy(w => w.Key.Item1, StringComparer.Ordinal)
        )
        {
            var ordered = list.OrderBy(x => x.Ts).Select(x => x.Template).ToArray();
            var parser = Miner.ParserFor(service);
            result.Add(
                new LogKeySequence(
                    service,
                    start,
                    ordered,
                    ordered.Select(id => parser.Template(id)?.Text ?? "").ToArray()
                )
            );
        }
        return result;
    }
}
