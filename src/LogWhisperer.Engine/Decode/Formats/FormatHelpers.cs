using System.Globalization;
using System.Text;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Formats;

/// <summary>Parses a Loki/Prometheus label set as Loki's protobuf push carries it: {app="cart",
/// namespace="shop"}.</summary>
internal static class LabelSet
{
    public static Dictionary<string, string> Parse(string text)
    {
        var labels = new Dictionary<string, string>();
        int i = 0;
        SkipSpace(text, ref i);
        if (i >= text.Length || text[i] != '{')
            throw new InvalidDataException($"label set must start with '{{': {Clip(text)}");
        i++;
        while (true)
        {
            SkipSpace(text, ref i);
            if (i < text.Length && text[i] == '}')
                break;
            int start = i;
            while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '.' or '/' or '-'))
                i++;
            if (i == start)
                throw new InvalidDataException($"label set: expected a label name at {start}: {Clip(text)}");
            var name = text[start..i];
            SkipSpace(text, ref i);
            if (i >= text.Length || text[i] != '=')
                throw new InvalidDataException($"label set: expected '=' after {name}: {Clip(text)}");
            i++;
            SkipSpace(text, ref i);
            if (i >= text.Length || text[i] != '"')
                throw new InvalidDataException($"label set: expected a quoted value for {name}: {Clip(text)}");
            i++;
            var value = new StringBuilder();
            while (true)
            {
                if (i >= text.Length)
                    throw new InvalidDataException($"label set: unterminated value for {name}: {Clip(text)}");
                char c = text[i++];
                if (c == '"')
                    break;
                if (c == '\\' && i < text.Length)
                {
                    char e = text[i++];
                    value.Append(
                        e switch
                        {
                            'n' => '\n',
                            't' => '\t',
                            _ => e,
                        }
                    );
                }
                else
                    value.Append(c);
            }
            labels[name] = value.ToString();
            SkipSpace(text, ref i);
            if (i < text.Length && text[i] == ',')
            {
                i++;
                continue;
            }
            SkipSpace(text, ref i);
            if (i < text.Length && text[i] == '}')
                break;
            throw new InvalidDataException($"label set: expected ',' or '}}' at {i}: {Clip(text)}");
        }
        return labels;
    }

    public static string Format(IEnumerable<KeyValuePair<string, string>> labels) =>
        "{"
        + string.Join(
            ", ",
            labels.Select(l =>
                $"{l.Key}=\"{l.Value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n")}\""
            )
        )
        + "}";

    private static void SkipSpace(string s, ref int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i]))
            i++;
    }

    internal static string Clip(string s) => s.Length <= 120 ? s : s[..120] + "…";
}

/// <summary>Log severity from a level field, or failing that from the line itself.</summary>
public static class Severity
{
    public static LogSeverity? FromLevel(string? level)
    {
        if (string.IsNullOrEmpty(level))
            return null;
        return level.Trim().ToLowerInvariant() switch
        {
            "trace" or "debug" or "dbg" or "7" => LogSeverity.Debug,
            "info" or "information" or "notice" or "inf" or "6" or "5" => LogSeverity.Info,
            "warn" or "warning" or "wrn" or "4" => LogSeverity.Warn,
            "error" or "err" or "eror" or "3" => LogSeverity.Error,
            "fatal" or "critical" or "crit" or "alert" or "emerg" or "panic" or "2" or "1" or "0" => LogSeverity.Fatal,
            _ => null,
        };
    }

    /// <summary>OpenTelemetry SeverityNumber (1–24) to ours.</summary>
    public static LogSeverity FromOtel(int number, string? text) =>
        number switch
        {
            >= 21 => LogSeverity.Fatal,
            >= 17 => LogSeverity.Error,
            >= 13 => LogSeverity.Warn,
            >= 9 => LogSeverity.Info,
            >= 1 => LogSeverity.Debug,
            _ => FromLevel(text) ?? LogSeverity.Info,
        };

    /// <summary>Plain-text lines: the first level word in the first 64 characters (e.g. "2026-01-01 ERROR cart: …",
    /// "level=warn").</summary>
    public static LogSeverity FromLine(string line)
    {
        var head = line.AsSpan(0, Math.Min(line.Length, 64));
        if (
            head.Contains("FATAL", StringComparison.OrdinalIgnoreCase)
            || head.Contains("PANIC", StringComparison.OrdinalIgnoreCase)
        )
            return LogSeverity.Fatal;
        if (
            head.Contains("ERROR", StringComparison.OrdinalIgnoreCase)
            || head.Contains("level=err", StringComparison.OrdinalIgnoreCase)
        )
            return LogSeverity.Error;
        if (head.Contains("WARN", StringComparison.OrdinalIgnoreCase))
            return LogSeverity.Warn;
        if (head.Contains("DEBUG", StringComparison.OrdinalIgnoreCase))
            return LogSeverity.Debug;
        return LogSeverity.Info;
    }
}

/// <summary>Timestamps as the formats write them, to Unix milliseconds.</summary>
internal static class Timestamps
{
    public static long FromNanos(long ns) => ns / 1_000_000;

    /// <summary>A decimal string of nanoseconds (Loki's JSON push, OTLP JSON's *UnixNano fields).</summary>
    public static long FromNanoString(string s, string what)
    {
        if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var ns))
            throw new InvalidDataException($"{what}: '{LabelSet.Clip(s)}' is not a nanosecond Unix timestamp");
        return FromNanos(ns);
    }

    /// <summary>
    /// A number whose unit is not fixed by the format (log shippers write seconds with a fraction, milliseconds
    /// or nanoseconds): the unit is told by magnitude, which is unambiguous for dates after 1973.
    /// </summary>
    public static long FromEpochNumber(double value) =>
        Math.Abs(value) switch
        {
            < 1e11 => (long)Math.Round(value * 1000), // seconds
            < 1e14 => (long)value, // milliseconds
            < 1e17 => (long)(value / 1000), // microseconds
            _ => (long)(value / 1_000_000), // nanoseconds
        };

    /// <summary>RFC 3339 / ISO 8601 text, or a number in a string.</summary>
    public static long FromText(string s, string what)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            return FromEpochNumber(n);
        if (
            DateTimeOffset.TryParse(
                s,
                CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
                out var t
            )
        )
            return t.ToUnixTimeMilliseconds();
        throw new InvalidDataException($"{what}: '{LabelSet.Clip(s)}' is not a timestamp");
    }
}
