using System.Text.RegularExpressions;

namespace LogWhisperer.Decode.Formats;

/// <summary>
/// Finds the trace and span ids a log line carries: as labels or JSON fields (<c>traceID</c>, <c>trace_id</c>,
/// <c>traceId</c>, <c>span_id</c>…, the names Loki, OpenTelemetry and the common log libraries use) or in the
/// text (<c>trace_id=4bf9…</c>, <c>TraceID: 4bf9… SpanID: 00f0…</c>, <c>"traceId":"4bf9…"</c>).
/// </summary>
internal static partial class TraceContext
{
    private static readonly string[] TraceKeys = ["traceID", "trace_id", "traceId", "TraceID", "TraceId", "trace.id", "otelTraceID", "dd.trace_id"];
    private static readonly string[] SpanKeys = ["spanID", "span_id", "spanId", "SpanID", "SpanId", "span.id", "otelSpanID", "dd.span_id"];

    /// <summary>Ids from labels or fields, else from the line's text; null where there is none.</summary>
    public static (string? TraceId, string? SpanId) From(IReadOnlyDictionary<string, string>? labels, string line)
    {
        string? trace = null, span = null;
        if (labels is not null)
        {
            foreach (var k in TraceKeys) if (labels.TryGetValue(k, out var v) && IsId(v)) { trace = v.ToLowerInvariant(); break; }
            foreach (var k in SpanKeys) if (labels.TryGetValue(k, out var v) && IsId(v)) { span = v.ToLowerInvariant(); break; }
        }
        if (trace is null) (trace, span) = FromText(line, span);
        return (trace, span);
    }

    /// <summary>Ids written in the text of a line. A cheap scan rules out most lines before the regex runs.</summary>
    public static (string? TraceId, string? SpanId) FromText(string line, string? span = null)
    {
        if (line.AsSpan().IndexOf("trace", StringComparison.OrdinalIgnoreCase) < 0) return (null, span);
        var t = TraceInText().Match(line);
        if (!t.Success) return (null, span);
        if (span is null && SpanInText().Match(line) is { Success: true } s) span = s.Groups[1].Value.ToLowerInvariant();
        return (t.Groups[1].Value.ToLowerInvariant(), span);
    }

    private static bool IsId(string v) => v.Length is >= 8 and <= 64 && v.AsSpan().IndexOfAnyExcept("0123456789abcdefABCDEF-") < 0 && v.AsSpan().IndexOfAnyExcept("0-") >= 0;

    // A key such as trace_id / traceId / TraceID / trace-id, optionally quoted, then = or :, then a hex id (UUID
    // dashes allowed), not itself a prefix of a longer word. All-zero ids (no trace) do not match.
    [GeneratedRegex("""(?i)\btrace[_.-]?id"?\s*[=:]\s*"?(?!0+\b)([0-9a-f]{16,32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b""")]
    private static partial Regex TraceInText();

    [GeneratedRegex("""(?i)\bspan[_.-]?id"?\s*[=:]\s*"?(?!0+\b)([0-9a-f]{8,16})\b""")]
    private static partial Regex SpanInText();
}
