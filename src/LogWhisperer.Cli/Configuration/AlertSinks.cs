using LogWhisperer.Sinks;

namespace LogWhisperer.Cli.Configuration;

/// <summary>The enabled alert sinks and their delivery counters.</summary>
internal sealed class AlertSinks(
    IncidentOptions? incidents = null,
    IncidentStore? store = null,
    string? feedbackDirectory = null
) : IDisposable
{
    private readonly List<IHttpRcaSink> _sinks = [];

    public IReadOnlyList<IRcaSink> Sinks => _sinks;

    /// <summary>Past incidents, shared by every pipeline this process runs (and the console).</summary>
    public IncidentStore Store { get; } = store ?? new IncidentStore();

    /// <summary>Verdict feedback stored as labelled incidents, when Incidents:StoreDirectory is set.</summary>
    public FeedbackStore? Feedback { get; } = feedbackDirectory is null ? null : new FeedbackStore(feedbackDirectory);

    /// <summary>The incident stage of the newest pipeline (the Kafka engine builds one per assignment).</summary>
    public IncidentStage? Stage { get; private set; }

    public void Add(IHttpRcaSink sink) => _sinks.Add(sink);

    /// <summary>
    /// The scored-snapshot hook: keeps recent windows for feedback, then calls <paramref name="also"/>.
    /// </summary>
    public Action<LogWhisperer.Scoring.ScoredSnapshot>? OnScored(Action<LogWhisperer.Scoring.ScoredSnapshot>? also) =>
        Feedback is null
            ? also
            : s =>
            {
                Feedback.Retain(s.Snapshot);
                also?.Invoke(s);
            };

    /// <summary>
    /// Applies a person's verdict to an incident (open or past): stored as labelled incident when a feedback
    /// store is set, and remembered with the incident so similar incidents show it. Null when the incident is unknown.
    /// </summary>
    public StoredIncident? GiveFeedback(VerdictFeedback feedback, DateTimeOffset at)
    {
        var incident =
            Store.Find(feedback.IncidentId)
            ?? Stage?.Tracker.Open.Where(o => o.Id == feedback.IncidentId).Select(StoredIncident.From).FirstOrDefault();
        if (incident is null)
            return null;
        var judged =
            Feedback?.Record(incident, feedback, at)
            ?? incident with
            {
                Feedback = FeedbackStore.Past(feedback.Verdict),
                ActualRootCause = feedback.Verdict == VerdictFeedback.RootCause ? feedback.Service : null,
            };
        Store.Put(judged);
        return judged;
    }

    /// <summary>
    /// The incident stage, then the first sink followed by every alert sink: every sink sees incidents.
    /// </summary>
    public IRcaSink After(IRcaSink first) =>
        Stage = new IncidentStage(_sinks.Count == 0 ? first : new FanOutRcaSink([first, .. _sinks]), incidents, Store);

    public IEnumerable<string> Summary() => _sinks.Select(s => s.Delivery.ToString());

    public void Dispose()
    {
        foreach (var sink in _sinks)
            sink.Dispose();
    }
}
