using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LogWhisperer.Pipeline;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources.Datasets;

/// <summary>One labelled incident of a dataset, with the telemetry to replay for it.</summary>
public sealed record DatasetCase(int Index, Fault Fault, string Cluster, IReadOnlyList<TelemetryRecord> Records);

/// <summary>
/// Turns a dataset described by a <see cref="DatasetMapping"/> into the engine's normal inputs: log lines,
/// spans and metric samples as <see cref="TelemetryRecord"/>s, and the fault list as ground truth. Rows that
/// cannot be read are dead-lettered with the reason, never dropped silently.
/// </summary>
/// <remarks>
/// Spans in such exports often lack kinds and peer names (the Nezha traces do). Where a span's parent runs
/// in another service, the adapter adds the caller-side client span (peer = the span's service, same
/// timing) that OpenTelemetry instrumentation would have recorded, so edges are seen as in live traffic.
/// </remarks>
public sealed class DatasetAdapter(DatasetMapping mapping, string root, IDeadLetterSink deadLetters)
{
    private readonly Regex _service = new(mapping.ServicePattern, RegexOptions.Compiled);
    private readonly Regex _severity = new(mapping.Logs.SeverityPattern, RegexOptions.Compiled);
    public long RowsRead { get; private set; }
    public long RowsRejected { get; private set; }

    public string ServiceOf(string instance) => _service.Match(instance) is { Success: true } m && m.Groups.Count > 1 ? m.Groups[1].Value : instance;

    public IReadOnlyList<Fault> LoadFaults()
    {
        var faults = new List<Fault>();
        foreach (var file in Glob(mapping.Faults.File))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var item in Flatten(doc.RootElement))
            {
                var time = DateTime.ParseExact(item.GetProperty(mapping.Faults.TimeField).GetString()!, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
                long start = new DateTimeOffset(time, TimeSpan.Zero).ToUnixTimeMilliseconds();
                var kindName = item.GetProperty(mapping.Faults.KindField).GetString()!;
                if (!mapping.Faults.Kinds.TryGetValue(kindName, out var kind)) throw new InvalidDataException($"{file}: fault kind '{kindName}' has no mapping");
                faults.Add(new Fault(ServiceOf(item.GetProperty(mapping.Faults.ServiceField).GetString()!), kind, start, start + mapping.Faults.DurationSeconds * 1000L, 1));
            }
        }
        return faults.OrderBy(f => f.StartMs).ToList();
    }

    /// <summary>
    /// Each fault as a case of its own cluster: <see cref="DatasetMapping.WarmupMinutes"/> of the normal
    /// files replayed just before it (shifted in time), then the dataset's own records from
    /// <see cref="DatasetMapping.LeadSeconds"/> before the injection to the fault's end, metrics included.
    /// </summary>
    public IReadOnlyList<DatasetCase> LoadCases()
    {
        var faults = LoadFaults();
        var incident = Sorted(LoadLogs(mapping.Logs.Files).Concat(LoadSpans(mapping.Traces.Files)));
        var normal = Sorted(LoadLogs(mapping.Logs.NormalFiles).Concat(LoadSpans(mapping.Traces.NormalFiles)));
        var metrics = Sorted(LoadMetrics());
        var cases = new List<DatasetCase>();
        for (int i = 0; i < faults.Count; i++)
        {
            var f = faults[i];
            string cluster = $"{mapping.Name}-case{i + 1:D2}";
            long caseStart = f.StartMs - mapping.LeadSeconds * 1000L, warmupStart = caseStart - mapping.WarmupMinutes * 60_000L;
            var records = new List<TelemetryRecord>();
            if (normal.Count > 0)
            {
                long span = Math.Max(1000, normal[^1].TimestampMs - normal[0].TimestampMs + 1000);
                for (long t = warmupStart; t < caseStart; t += span)
                    foreach (var r in normal)
                    {
                        long ts = t + (r.TimestampMs - normal[0].TimestampMs);
                        if (ts < caseStart) records.Add(Retime(r, ts, cluster));
                    }
            }
            records.AddRange(InRange(incident, caseStart, f.EndMs).Select(r => r with { Cluster = cluster }));
            records.AddRange(InRange(metrics, warmupStart, f.EndMs).Select(r => r with { Cluster = cluster }));
            records.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
            cases.Add(new DatasetCase(i, f with { }, cluster, records));
        }
        return cases;
    }

    private static TelemetryRecord Retime(TelemetryRecord r, long ts, string cluster) => r with { TimestampMs = ts, Cluster = cluster };

    private static List<TelemetryRecord> Sorted(IEnumerable<TelemetryRecord> records)
    {
        var list = records.ToList();
        list.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
        return list;
    }

    private static IEnumerable<TelemetryRecord> InRange(List<TelemetryRecord> sorted, long from, long to)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi) { int mid = (lo + hi) / 2; if (sorted[mid].TimestampMs < from) lo = mid + 1; else hi = mid; }
        for (int i = lo; i < sorted.Count && sorted[i].TimestampMs < to; i++) yield return sorted[i];
    }

    private IEnumerable<TelemetryRecord> LoadLogs(string[] globs)
    {
        var m = mapping.Logs;
        foreach (var file in globs.SelectMany(Glob))
            foreach (var row in Rows(file))
            {
                TelemetryRecord? record = null;
                try
                {
                    var message = row[m.Message];
                    if (m.MessageJsonField is { } field)
                    {
                        using var doc = JsonDocument.Parse(message);
                        message = doc.RootElement.GetProperty(field).GetString() ?? "";
                    }
                    message = message.TrimEnd('\n', '\r');
                    var level = _severity.Match(message) is { Success: true } s ? s.Groups[1].Value.ToUpperInvariant() : "INFO";
                    var severity = level switch
                    {
                        "ERROR" or "SEVERE" => LogSeverity.Error, "FATAL" => LogSeverity.Fatal, "WARN" or "WARNING" => LogSeverity.Warn,
                        "DEBUG" or "TRACE" => LogSeverity.Debug, _ => LogSeverity.Info,
                    };
                    string? traceId = m.TraceId is { } tc && row.TryGetValue(tc, out var t) && t.Length > 0 ? t : null;
                    string? spanId = m.SpanId is { } sc && row.TryGetValue(sc, out var sp) && sp.Length > 0 ? sp : null;
                    if (traceId is null) (traceId, spanId) = Decode.Formats.TraceContext.FromText(message, spanId);
                    record = new LogRecord(m.Time.ToMs(row[m.Time.Column]), mapping.Name, ServiceOf(row[m.Service]), severity, message, traceId, spanId);
                }
                catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    Reject(file, row, e.Message);
                }
                if (record is not null) yield return record;
            }
    }

    private IEnumerable<TelemetryRecord> LoadSpans(string[] globs)
    {
        var m = mapping.Traces;
        foreach (var file in globs.SelectMany(Glob))
        {
            var spans = new List<(string Trace, string Span, string? Parent, string Service, string Op, long StartMs, double DurationMs, bool Error)>();
            foreach (var row in Rows(file))
            {
                try
                {
                    long startMs = m.Start.ToMs(row[m.Start.Column]);
                    double durationMs = m.End.ToMsPrecise(row[m.End.Column]) - m.Start.ToMsPrecise(row[m.Start.Column]);
                    var parent = row[m.ParentId];
                    bool error = m.Status is { } status && m.ErrorValues.Contains(row[status]);
                    spans.Add((row[m.TraceId], row[m.SpanId], parent == m.RootParent || parent.Length == 0 ? null : parent, ServiceOf(row[m.Service]), row[m.Operation], startMs, Math.Max(0, durationMs), error));
                }
                catch (Exception e) when (e is FormatException or KeyNotFoundException)
                {
                    Reject(file, row, e.Message);
                }
            }
            var byId = new Dictionary<string, int>(spans.Count, StringComparer.Ordinal);
            for (int i = 0; i < spans.Count; i++) byId.TryAdd(spans[i].Span, i);
            // The server span that encloses a span within its own service (itself if its parent is elsewhere).
            string EnclosingServer(int i)
            {
                for (int hops = 0; hops < 64; hops++)
                {
                    if (spans[i].Parent is not { } p || !byId.TryGetValue(p, out var pi) || spans[pi].Service != spans[i].Service) return spans[i].Span;
                    i = pi;
                }
                return spans[i].Span;
            }
            for (int i = 0; i < spans.Count; i++)
            {
                var s = spans[i];
                bool parentElsewhere = s.Parent is null || !byId.TryGetValue(s.Parent, out var pi) || spans[pi].Service != s.Service;
                yield return new SpanRecord(s.StartMs, mapping.Name, s.Service, s.Trace, s.Span, s.Parent, s.Op, parentElsewhere ? SpanKind.Server : SpanKind.Internal, null, s.DurationMs, s.Error);
                if (s.Parent is not null && byId.TryGetValue(s.Parent, out pi) && spans[pi].Service != s.Service)
                    yield return new SpanRecord(s.StartMs, mapping.Name, spans[pi].Service, s.Trace, s.Span + ":client", EnclosingServer(pi), s.Op, SpanKind.Client, s.Service, s.DurationMs, s.Error);
            }
        }
    }

    private IEnumerable<TelemetryRecord> LoadMetrics()
    {
        var m = mapping.Metrics;
        foreach (var file in m.Files.SelectMany(Glob))
        {
            var totals = new Dictionary<string, (double Total, long LastMs)>();
            foreach (var row in Rows(file))
            {
                long ts; string service;
                try { ts = m.Time.ToMs(row[m.Time.Column]); service = ServiceOf(row[m.Service]); }
                catch (Exception e) when (e is FormatException or KeyNotFoundException) { Reject(file, row, e.Message); continue; }
                foreach (var (column, target) in m.Columns)
                {
                    if (!row.TryGetValue(column, out var text) || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                    {
                        Reject(file, row, $"column {column}: '{(row.TryGetValue(column, out var t) ? t : "<missing>")}' is not a number");
                        continue;
                    }
                    value *= target.Scale;
                    if (target.Integrate)
                    {
                        // A rate becomes the counter Prometheus would expose: add rate × elapsed seconds.
                        totals.TryGetValue(column, out var acc);
                        double total = acc.LastMs == 0 ? 0 : acc.Total + value * (ts - acc.LastMs) / 1000.0;
                        totals[column] = (total, ts);
                        value = total;
                    }
                    yield return new MetricSample(ts, mapping.Name, service, target.Name, value);
                }
            }
        }
    }

    /// <summary>The file's well-formed rows; malformed ones (real exports have them) are dead-lettered here.</summary>
    private IEnumerable<Dictionary<string, string>> Rows(string file)
    {
        foreach (var row in CsvReader.ReadRecords(file))
        {
            RowsRead++;
            if (row.Fields is null) Reject(file, row.Raw, row.Error!);
            else yield return row.Fields;
        }
    }

    private void Reject(string file, object row, string reason)
    {
        RowsRejected++;
        deadLetters.Write(new DeadLetter("dataset", $"{Path.GetFileName(file)}: {reason}", JsonSerializer.Serialize(row)));
    }

    private static IEnumerable<JsonElement> Flatten(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => e.EnumerateArray().SelectMany(Flatten),
        JsonValueKind.Object when e.EnumerateObject().All(p => p.Value.ValueKind is JsonValueKind.Array or JsonValueKind.Object) => e.EnumerateObject().SelectMany(p => Flatten(p.Value)),
        _ => [e],
    };

    /// <summary>Expands a relative glob with "*" inside path segments, in ordinal order.</summary>
    private IEnumerable<string> Glob(string pattern)
    {
        IEnumerable<string> current = [root];
        foreach (var segment in pattern.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var seg = segment;
            current = seg.Contains('*')
                ? current.Where(Directory.Exists).SelectMany(d => Directory.EnumerateFileSystemEntries(d, seg)).Order(StringComparer.Ordinal).ToList()
                : current.Select(d => Path.Combine(d, seg)).Where(p => File.Exists(p) || Directory.Exists(p)).ToList();
        }
        return current.Where(File.Exists);
    }
}
