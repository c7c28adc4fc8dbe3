using System.ComponentModel;

namespace LogWhisperer.Cli.Configuration;

/// <summary>Incidents: when they resolve and reopen, the store of past ones, verdict feedback.</summary>
internal sealed class IncidentsSection
{
    [Description("An incident resolves after this many quiet windows in a row.")]
    public int ResolveAfterQuietWindows { get; set; } = 2;

    [Description(
        "A resolved incident reopens (same id) when a verdict naming its root cause and fault kind comes "
            + "within this many windows; 0 never reopens."
    )]
    public int ReopenWithinWindows { get; set; } = 4;

    [Description(
        "Directory of the incident store (incidents.jsonl: past incidents for 'similar incidents', kept "
            + "across restarts) and of verdict feedback (labelled incidents: labels.jsonl and Arrow snapshots that "
            + "finetune reads). Unset: kept in memory only, no feedback store."
    )]
    public string? StoreDirectory { get; set; }

    [Description("Past incidents kept (the oldest go first).")]
    public int StoreCapacity { get; set; } = 1000;

    [Description("Similar past incidents listed per event.")]
    public int SimilarIncidents { get; set; } = 3;

    [Description(
        "Kafka topic of verdict feedback (JSON: incidentId, verdict confirm|reject|rootCause, service) that "
            + "the engine reads; the console's POST /api/incidents/{id}/feedback does the same."
    )]
    public string FeedbackTopic { get; set; } = "logwhisperer_feedback";
}
