using LogWhisperer.Features;
using LogWhisperer.Graph;

namespace LogWhisperer.Explain;

/// <summary>
/// Which modalities a window's verdict stands on. An event says so when logs, traces or metrics are absent
/// (Loki down, a collector stopped, every record late) or too sparse to measure (traces sampled to 1 %,
/// a log shipper dropping most lines), so a reader knows which evidence the ranking could not use.
/// </summary>
internal sealed record EvidenceCoverage(IReadOnlyList<string> Missing, IReadOnlyList<string> Sparse)
{
    public const string Logs = "logs",
        Traces = "traces",
        Metrics = "metrics";

    /// <summary>A modality at less than this share of its baseline volume is sparse.</summary>
    public const double SparseShare = 0.2;

    /// <summary>Fewer server spans than this per serving service in a window give no usable latency
    /// quantiles.</summary>
    public const double MinSpansPerService = 10;

    public bool Degraded => Missing.Count > 0 || Sparse.Count > 0;

    public static EvidenceCoverage Of(GraphSnapshot s)
    {
        double seconds = (s.WindowEndMs - s.WindowStartMs) / 1000.0;
        double logs = 0,
            logsBaseline = 0,
            spans = 0,
            spansBaseline = 0;
        int serving = 0;
        bool metrics = false;
        for (int i = 0; i < s.NodeCount; i++)
        {
            logs += Value(s.Measurement(i, Measurement.LogRate));
            logsBaseline += Value(s.Baseline(i, Measurement.LogRate));
            // Only server spans set the origin-error ratio: request rates and latencies from mesh (or declared
            // gauge) metrics stand in for spans without it, and are metrics evidence, not traces.
            bool fromSpans = !double.IsNaN(s.Measurement(i, Measurement.OriginErrorRatio));
            double rate = Value(s.Measurement(i, Measurement.RequestRate));
            if (fromSpans)
            {
                spans += rate;
                spansBaseline += Value(s.Baseline(i, Measurement.RequestRate));
                if (rate > 0)
                    serving++;
            }
            else if (rate > 0 || !double.IsNaN(s.Measurement(i, Measurement.LatencyP50)))
                metrics = true;
            metrics |=
                !double.IsNaN(s.Measurement(i, Measurement.CpuCores))
                || !double.IsNaN(s.Measurement(i, Measurement.MemoryBytes));
        }
        var missing = new List<string>();
        var sparse = new List<string>();
        if (logs == 0)
            missing.Add(Logs);
        else if (logs < SparseShare * logsBaseline)
            sparse.Add(Logs);
        if (spans == 0)
            missing.Add(Traces);
        else if (spans < SparseShare * spansBaseline || spans * seconds / serving < MinSpansPerService)
            sparse.Add(Traces);
        if (!metrics)
            missing.Add(Metrics);
        return new EvidenceCoverage(missing, sparse);
    }

    private static double Value(double v) => double.IsFinite(v) ? v : 0;
}
