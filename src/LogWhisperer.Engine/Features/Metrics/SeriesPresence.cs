namespace LogWhisperer.Features.Metrics;

/// <summary>
/// Missing data is a signal, not a zero: a killed pod stops being scraped. Tracks when each series was last
/// seen and reports, at a given time, how long it has been silent in scrape intervals. A series is
/// <em>missing</em> after two missed scrapes (one can be a late scrape).
/// </summary>
internal sealed class SeriesPresence(long scrapeIntervalMs)
{
    private readonly Dictionary<string, long> _lastSeen = [];

    public void Seen(string series, long timestampMs)
    {
        if (!_lastSeen.TryGetValue(series, out long t) || timestampMs > t)
            _lastSeen[series] = timestampMs;
    }

    /// <summary>Scrape intervals since the series was last seen (0 = fresh); NaN for a series never seen.</summary>
    public double MissedScrapes(string series, long nowMs) =>
        _lastSeen.TryGetValue(series, out long t)
            ? Math.Max(0, Math.Floor((nowMs - t) / (double)scrapeIntervalMs))
            : double.NaN;

    public bool IsMissing(string series, long nowMs) => MissedScrapes(series, nowMs) >= 2;

    public IEnumerable<string> Missing(long nowMs) => _lastSeen.Keys.Where(s => IsMissing(s, nowMs));
}
