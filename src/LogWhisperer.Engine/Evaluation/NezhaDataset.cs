using System.Globalization;
using System.Text.Json;
using LogWhisperer.Sources;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Evaluation;

/// <summary>One injected fault of the Nezha Train-Ticket data (root-cause service, UTC time, kind).</summary>
internal sealed record NezhaFault(DateTimeOffset InjectTime, string Service, string Kind);

/// <summary>
/// Reads the Nezha Train-Ticket export (an unpacked <c>trainticket-*.tar.xz</c>): log lines from
/// <c>rca_data/DAY/log/HH_MM_log.csv</c> (faulty periods) and <c>construct_data/DAY/log</c> (fault-free), and the
/// fault list. A pod's service is its name without the two generated suffixes (ts-travel-service-64469b5b48-25zj6 →
/// ts-travel-service); the message is the <c>log</c> field of the container's JSON line.
/// </summary>
internal static class NezhaDataset
{
    public static IEnumerable<LogRecord> ReadLogs(string logDirectory, string cluster = "train-ticket")
    {
        foreach (var file in Directory.GetFiles(logDirectory, "*_log.csv").Order(StringComparer.Ordinal))
        foreach (var csvRow in CsvReader.ReadRecords(file))
        {
            // A malformed row (the export has fused lines) carries no usable time or service here; the
            // engine's DatasetAdapter dead-letters such rows, this experiment reader only skips them.
            if (csvRow.Fields is not { } row)
                continue;
            if (!long.TryParse(row.GetValueOrDefault("TimeUnixNano"), out long nanos))
                continue;
            string message = row.GetValueOrDefault("Log") ?? "";
            try
            {
                message = JsonDocument.Parse(message).RootElement.GetProperty("log").GetString() ?? message;
            }
            catch (JsonException) { } // not JSON: keep the raw line
            yield return new LogRecord(
                nanos / 1_000_000,
                cluster,
                ServiceOf(row.GetValueOrDefault("PodName") ?? ""),
                message.Contains("ERROR", StringComparison.Ordinal) ? LogSeverity.Error : LogSeverity.Info,
                message.TrimEnd()
            );
        }
    }

    public static IReadOnlyList<NezhaFault> ReadFaults(string faultListJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(faultListJson));
        var faults = new List<NezhaFault>();
        foreach (var hour in doc.RootElement.EnumerateObject())
        foreach (var f in hour.Value.EnumerateArray())
        {
            // inject_time is UTC (inject_timestamp can be 8 h off, per the dataset's notes).
            var time = DateTimeOffset.ParseExact(
                f.GetProperty("inject_time").GetString()!,
                "yyyy-MM-dd HH:mm:ss",
                CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal
            );
            faults.Add(
                new NezhaFault(
                    time,
                    ServiceOf(f.GetProperty("inject_pod").GetString()!),
                    f.GetProperty("inject_type").GetString()!
                )
            );
        }
        return faults.OrderBy(f => f.InjectTime).ToList();
    }

    public static string ServiceOf(string pod)
    {
        var parts = pod.Split('-');
        return parts.Length > 2 ? string.Join('-', parts[..^2]) : pod;
    }
}
