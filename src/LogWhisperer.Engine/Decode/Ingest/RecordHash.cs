using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode;

/// <summary>64-bit FNV-1a over a record's identity: stable across processes, cheap, few collisions at a million
/// records.</summary>
internal static class RecordHash
{
    private const ulong Offset = 14695981039346656037,
        Prime = 1099511628211;

    public static ulong Of(TelemetryRecord record)
    {
        ulong h = Add(Add(Offset, record.Cluster), record.Service);
        h = Add(h, (ulong)record.TimestampMs);
        return record switch
        {
            // A span is its trace and span id: the same span sent twice is one span, whatever else differs.
            SpanRecord s => Add(Add(Add(Offset, s.Cluster), s.TraceId), s.SpanId),
            // Loki's rule: within a stream, an entry with the same timestamp and line is the same entry.
            LogRecord l => Add(Add(h, (ulong)l.Severity), l.Message),
            // Prometheus's rule: a series has one sample per timestamp (a second one is a duplicate, whatever its
            // value).
            MetricSample m => Labels(Add(h, m.Name), m.Labels),
            _ => h,
        };
    }

    /// <summary>A metric series: name and labels (order-independent), without time or value.</summary>
    public static ulong Series(MetricSample m) => Labels(Add(Add(Offset, m.Service), m.Name), m.Labels);

    public static ulong Of(string text) => Add(Offset, text);

    private static ulong Labels(ulong h, IReadOnlyDictionary<string, string>? labels)
    {
        if (labels is null)
            return h;
        ulong sum = 0; // order-independent: dictionaries do not promise an order
        foreach (var (k, v) in labels)
            sum += Add(Add(Offset, k), v) * Prime;
        return Add(h, sum);
    }

    private static ulong Add(ulong h, string s)
    {
        foreach (char c in s)
        {
            h ^= c;
            h *= Prime;
        }
        h ^= 0xFF;
        h *= Prime; // separator, so ("ab","c") differs from ("a","bc")
        return h;
    }

    private static ulong Add(ulong h, ulong v)
    {
        for (int i = 0; i < 8; i++)
        {
            h ^= (byte)(v >> (i * 8));
            h *= Prime;
        }
        return h;
    }
}
