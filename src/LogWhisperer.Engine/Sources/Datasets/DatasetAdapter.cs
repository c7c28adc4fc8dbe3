using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LogWhisperer.Changes;
using LogWhisperer.Pipeline;
using LogWhisperer.Simulation;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Sources.Datasets;

/// <summary>One labelled incident of a dataset, with the telemetry (and the changes) to replay for it.</summary>
public sealed record DatasetCase(int Index, Fault Fault, string Cluster, IReadOnlyList<TelemetryRecord> Records)
{
    public IReadOnlyList<ChangeEvent> Changes { get; init; } = [];
}

/// <summary>
/// Turns a dataset described by a <see cref="DatasetMapping"/> into the engine's normal inputs: log lines,
/// spans and metric samples as <see cref="TelemetryRecord"/>s, changes as <see cref="ChangeEvent"/>s, and the
/// fault list (or each case folder's label) as ground truth. Rows that cannot be read are dead-lettered with the
/// file, line and column, never dropped silently; a file that does not fit the mapping (a missing column, a
/// column the pattern cannot read) stops the load with an error naming both.
/// </summary>
/// <remarks>
/// Spans in such exports often lack kinds and peer names (the Nezha traces do). Where a span's parent runs
/// in another service, the adapter adds the caller-side client span (peer = the span's service, same
/// timing) that OpenTelemetry instrumentation would have recorded, so edges are seen as in live traffic.
/// </remarks>
public sealed class DatasetAdapter(DatasetMapping mapping, string root, IDeadLetterSink deadLetters)
{
    private readonly Regex _service = new(mapping.ServicePattern, RegexOptions.Compiled);
    private readonly Regex _severity = new(
        mapping.Logs?.SeverityPattern ?? LogMapping.DefaultSeverityPattern,
        RegexOptions.Compiled
    );
    public long RowsRead { get; private set; }
    public long RowsRejected { get; private set; }

    /// <summary>Empty metric cells (a series with no sample at that time): counted, not dead-lettered.</summary>
    public long BlankValues { get; private set; }
    public long ChangesRead { get; private set; }

    /// <summary>Change-file records that are valid but not changes (e.g. other Kubernetes event reasons).</summary>
    public long ChangesIgnored { get; private set; }

    public string ServiceOf(string instance) =>
        _service.Match(instance) is { Success: true } m && m.Groups.Count > 1 ? m.Groups[1].Value : instance;

    /// <summary>The shared fault list (<see cref="DatasetMapping.Faults"/>), oldest first.</summary>
    public IReadOnlyList<Fault> LoadFaults()
    {
        var f =
            mapping.Faults
            ?? throw new InvalidOperationException("the mapping has no shared fault list (it uses cases)");
        return Required(f.File, root, "faults.file")
            .SelectMany(file => ReadLabels(file, f))
            .OrderBy(x => x.StartMs)
            .ToList();
    }

    /// <summary>Faults from a fault list or label file: a JSON object, an array, or objects of arrays (grouped
    /// lists).</summary>
    private IEnumerable<Fault> ReadLabels(string file, FaultMapping f)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(file));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
        using (doc)
        {
            var faults = new List<Fault>();
            foreach (var item in Flatten(doc.RootElement))
            {
                string Field(string name) =>
                    item.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number
                        ? (v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText())
                        : throw new InvalidDataException(
                            $"{file}: a fault has no field '{name}' ({Truncate(item.GetRawText())})"
                        );
                long start = LabelTime(file, Field(f.TimeField), f.TimeFormat, f.TimeField);
                long end = f.EndField is { } endField
                    ? LabelTime(file, Field(endField), f.TimeFormat, endField)
                    : start + f.DurationSeconds * 1000L;
                FaultKind kind;
                if (f.KindField is null)
                    kind = f.DefaultKind!.Value;
                else if (!f.Kinds.TryGetValue(Field(f.KindField), out kind))
                {
                    if (f.DefaultKind is { } d)
                        kind = d;
                    else
                        throw new InvalidDataException(
                            $"{file}: fault kind '{Field(f.KindField)}' has no mapping (kinds: {string.Join(", ", f.Kinds.Keys)})"
                        );
                }
                faults.Add(new Fault(ServiceOf(Field(f.ServiceField)), kind, start, end, 1));
            }
            return faults;
        }
    }

    private static long LabelTime(string file, string value, string format, string field)
    {
        try
        {
            return format switch
            {
                "unix-s" => (long)(double.Parse(value, CultureInfo.InvariantCulture) * 1000),
                "unix-ms" => (long)double.Parse(value, CultureInfo.InvariantCulture),
                "iso" => TimeColumn.ParseDate(value, null, field),
                _ => TimeColumn.ParseDate(value, format, field),
            };
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
    }

    private static string Truncate(string s) => s.Length <= 120 ? s : s[..120] + "…";

    /// <summary>The call edges the dataset declares: the topology file's and every per-edge metric file's.</summary>
    public IReadOnlyList<(string From, string To)> LoadTopology()
    {
        var edges = new List<(string, string)>();
        if (mapping.Topology is { } t)
            foreach (var file in Required(t.File, root, "topology.file"))
            {
                if (file.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                {
                    using var doc = ParseJson(file);
                    if (doc.RootElement.ValueKind != JsonValueKind.Array)
                        throw new InvalidDataException(
                            $"{file}: a JSON topology is an array of {{\"{t.Caller}\": …, \"{t.Callee}\": …}} objects"
                        );
                    int n = 0;
                    foreach (var e in doc.RootElement.EnumerateArray())
                    {
                        n++;
                        if (
                            e.ValueKind != JsonValueKind.Object
                            || !e.TryGetProperty(t.Caller, out var a)
                            || !e.TryGetProperty(t.Callee, out var b)
                            || a.GetString() is not { } from
                            || b.GetString() is not { } to
                        )
                            throw new InvalidDataException(
                                $"{file}: edge {n} needs string fields '{t.Caller}' and '{t.Callee}'"
                            );
                        edges.Add((ServiceOf(from), ServiceOf(to)));
                    }
                }
                else
                    foreach (var (row, _) in Rows(file, [t.Caller, t.Callee], "topology"))
                        edges.Add((ServiceOf(row.Fields![t.Caller]), ServiceOf(row.Fields[t.Callee])));
            }
        if (mapping.EdgeMetrics is { } em)
            foreach (var dir in mapping.Cases is null ? [root] : Folders(mapping.Cases.Folders))
            foreach (var file in em.Files.SelectMany(g => Glob(g, dir)))
                if (EdgeFromFileName(file) is { } e)
                    edges.Add(e);
        return edges.Distinct().ToList();
    }

    /// <summary>
    /// The dataset's cases. With a shared fault list each fault is a case of its own cluster:
    /// <see cref="DatasetMapping.WarmupMinutes"/> of the fault-free data replayed just before it (shifted in time),
    /// then the dataset's own records from <see cref="DatasetMapping.LeadSeconds"/> before the injection to the
    /// fault's end, metrics included. With case folders each folder is a case: the baseline replayed before its
    /// first record, then all of its own records.
    /// </summary>
    public IReadOnlyList<DatasetCase> LoadCases()
    {
        var normal = mapping.Baseline is { } b
            ? LoadFolder(Path.Combine(root, b.Folder), normal: false, changes: false)
            : LoadFolder(root, normal: true);
        bool normalHasMetrics = normal.Telemetry.Any(r =>
            r is MetricSample || r is SpanRecord { Operation: "edge-metrics" }
        );
        var cases = new List<DatasetCase>();
        if (mapping.Cases is { } layout)
        {
            foreach (var folder in Folders(layout.Folders))
            {
                var labels = Required(layout.Label.File, folder, "cases.label.file")
                    .SelectMany(f => ReadLabels(f, layout.Label))
                    .ToList();
                if (labels.Count == 0)
                    throw new InvalidDataException($"{folder}: the label file holds no fault");
                var data = LoadFolder(folder, normal: false);
                if (data.Telemetry.Count == 0)
                    throw new InvalidDataException(
                        $"{folder}: no telemetry matched the mapping's files in this case folder"
                    );
                var fault = labels[0] with { EndMs = Math.Max(labels[0].EndMs, labels[0].StartMs + 1000) };
                string cluster = $"{mapping.Name}-{Path.GetFileName(folder)}";
                long first = data.Telemetry[0].TimestampMs;
                var records = WarmUp(normal.Telemetry, first - mapping.WarmupMinutes * 60_000L, first, cluster);
                records.AddRange(data.Telemetry.Select(r => r with { Cluster = cluster }));
                records.Sort((x, y) => x.TimestampMs.CompareTo(y.TimestampMs));
                cases.Add(
                    new DatasetCase(cases.Count, fault, cluster, records)
                    {
                        Changes = data.Changes.Select(c => c with { Cluster = cluster }).ToList(),
                    }
                );
            }
            return cases;
        }

        var faults = LoadFaults();
        var incident = LoadFolder(root, normal: false);
        var metrics = incident.Telemetry.Where(IsMetric).ToList();
        var other = incident.Telemetry.Where(r => !IsMetric(r)).ToList();
        for (int i = 0; i < faults.Count; i++)
        {
            var f = faults[i];
            string cluster = $"{mapping.Name}-case{i + 1:D2}";
            long caseStart = f.StartMs - mapping.LeadSeconds * 1000L,
                warmupStart = caseStart - mapping.WarmupMinutes * 60_000L;
            var warmup = mapping.WarmupFromOtherLeads
                ? FaultFreeSegments(normal.Telemetry, other, faults, i, caseStart - warmupStart)
                : normal.Telemetry;
            if (mapping.WarmupFromOtherLeads && warmup.Count > 0) // whole stretches: start early, not cut one
                warmupStart = Math.Min(warmupStart, caseStart - Duration(warmup));
            var records = WarmUp(warmup, warmupStart, caseStart, cluster, endAligned: mapping.WarmupFromOtherLeads);
            records.AddRange(InRange(other, caseStart, f.EndMs).Select(r => r with { Cluster = cluster }));
            // Metrics of the faulty period cover the warm-up too unless the fault-free data has its own.
            records.AddRange(
                InRange(metrics, normalHasMetrics ? caseStart : warmupStart, f.EndMs)
                    .Select(r => r with { Cluster = cluster })
            );
            records.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
            var changes = incident
                .Changes.Where(c => c.TimestampMs >= warmupStart && c.TimestampMs < f.EndMs)
                .Select(c => c with { Cluster = cluster })
                .ToList();
            cases.Add(new DatasetCase(i, f with { }, cluster, records) { Changes = changes });
        }
        return cases;
    }

    private static bool IsMetric(TelemetryRecord r) =>
        r is MetricSample || r is SpanRecord { Operation: "edge-metrics" };

    /// <summary>
    /// Fault-free stretches to warm case <paramref name="self"/> up on, enough to fill <paramref name="needMs"/>:
    /// the earlier cases' lead periods (as a live engine would have seen them) that overlap no fault, nearest in
    /// time first, then the normal files; they replay end to end, the nearest last, just before the case.
    /// </summary>
    private List<TelemetryRecord> FaultFreeSegments(
        List<TelemetryRecord> normal,
        List<TelemetryRecord> incident,
        IReadOnlyList<Fault> faults,
        int self,
        long needMs
    )
    {
        long lead = mapping.LeadSeconds * 1000L;
        var nearestFirst = faults
            .Select(f => (from: f.StartMs - lead, to: f.StartMs))
            .Where(s => s.to <= faults[self].StartMs - lead && !faults.Any(f => f.StartMs < s.to && f.EndMs > s.from))
            .OrderBy(s => Math.Abs(s.to - faults[self].StartMs))
            .Select(s => InRange(incident, s.from, s.to).ToList())
            .Append(normal)
            .Where(records => records.Count > 0);
        var chosen = new List<List<TelemetryRecord>>();
        long filled = 0;
        foreach (var segment in nearestFirst)
        {
            if (filled >= needMs)
                break;
            chosen.Add(segment);
            filled += Duration(segment);
        }
        var joined = new List<TelemetryRecord>();
        long at = 0;
        for (int k = chosen.Count - 1; k >= 0; k--)
        {
            long shift = at - chosen[k][0].TimestampMs;
            joined.AddRange(chosen[k].Select(r => r with { TimestampMs = r.TimestampMs + shift }));
            at += Duration(chosen[k]);
        }
        return joined;
    }

    private static long Duration(List<TelemetryRecord> sorted) =>
        Math.Max(1000, sorted[^1].TimestampMs - sorted[0].TimestampMs + 1000);

    /// <summary>The fault-free records replayed over [fromMs, toMs) (looped when shorter, shifted in time); with
    /// <paramref name="endAligned"/> the last copy ends at <paramref name="toMs"/> (cut at the start instead of
    /// the end), so what was nearest the case replays just before it.</summary>
    private static List<TelemetryRecord> WarmUp(
        List<TelemetryRecord> normal,
        long fromMs,
        long toMs,
        string cluster,
        bool endAligned = false
    )
    {
        var records = new List<TelemetryRecord>();
        if (normal.Count == 0)
            return records;
        long span = Duration(normal);
        long first = endAligned ? toMs - span * ((toMs - fromMs + span - 1) / span) : fromMs;
        for (long t = first; t < toMs; t += span)
            foreach (var r in normal)
            {
                long ts = t + (r.TimestampMs - normal[0].TimestampMs);
                if (ts >= fromMs && ts < toMs)
                    records.Add(Retime(r, ts, cluster));
            }
        return records;
    }

    private sealed record FolderData(List<TelemetryRecord> Telemetry, List<ChangeEvent> Changes);

    /// <summary>Every modality the mapping names, read from one folder (the root, a case folder or the baseline
    /// folder).</summary>
    /// <param name="changes">Read the changes too (not from fault-free data, whose changes belong to no case).</param>
    private FolderData LoadFolder(string dir, bool normal, bool changes = true)
    {
        var records = new List<TelemetryRecord>();
        if (mapping.Logs is { } logs)
            records.AddRange(LoadLogs(Files(normal ? logs.NormalFiles : logs.Files, dir, "logs", false)));
        if (mapping.Traces is { } traces)
            records.AddRange(LoadSpans(Files(normal ? traces.NormalFiles : traces.Files, dir, "traces", false)));
        var gauges = new GaugeSeries(mapping.Name);
        if (mapping.Metrics is { } metrics)
            records.AddRange(
                LoadMetrics(Files(normal ? metrics.NormalFiles : metrics.Files, dir, "metrics", false), gauges)
            );
        if (mapping.EdgeMetrics is { } edges)
            LoadEdgeMetrics(Files(normal ? edges.NormalFiles : edges.Files, dir, "edgeMetrics", false), gauges);
        records.AddRange(gauges.Records());
        var changeList =
            changes && !normal && mapping.Changes is { } c
                ? LoadChanges(Files(c.Files, dir, "changes", optional: false))
                : [];
        return new FolderData(Sorted(records), changeList);
    }

    /// <summary>The files a modality's globs match in a folder; a glob that matches nothing is an error (not a silent
    /// gap).</summary>
    private List<string> Files(string[] globs, string dir, string what, bool optional)
    {
        var files = new List<string>();
        foreach (var g in globs)
        {
            var matched = Glob(g, dir).ToList();
            if (matched.Count == 0 && !optional)
                throw new FileNotFoundException($"{what}: '{g}' matches no file under {dir}");
            files.AddRange(matched);
        }
        return files;
    }

    private List<string> Required(string glob, string dir, string what) => Files([glob], dir, what, optional: false);

    private IEnumerable<string> Folders(string glob)
    {
        var folders = GlobEntries(glob, root).Where(Directory.Exists).ToList();
        if (folders.Count == 0)
            throw new DirectoryNotFoundException($"cases.folders: '{glob}' matches no folder under {root}");
        return folders;
    }

    private static TelemetryRecord Retime(TelemetryRecord r, long ts, string cluster) =>
        r with
        {
            TimestampMs = ts,
            Cluster = cluster,
        };

    private static List<TelemetryRecord> Sorted(IEnumerable<TelemetryRecord> records)
    {
        var list = records.ToList();
        list.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
        return list;
    }

    private static IEnumerable<TelemetryRecord> InRange(List<TelemetryRecord> sorted, long from, long to)
    {
        int lo = 0,
            hi = sorted.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (sorted[mid].TimestampMs < from)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (int i = lo; i < sorted.Count && sorted[i].TimestampMs < to; i++)
            yield return sorted[i];
    }

    private IEnumerable<TelemetryRecord> LoadLogs(IEnumerable<string> files)
    {
        var m = mapping.Logs!;
        foreach (var file in files)
        foreach (var (row, line) in Rows(file, [m.Time.Column, m.Service, m.Message], "logs"))
        {
            TelemetryRecord? record = null;
            try
            {
                var message = row.Fields![m.Message];
                if (m.MessageJsonField is { } field)
                {
                    using var doc = JsonDocument.Parse(message);
                    message = doc.RootElement.GetProperty(field).GetString() ?? "";
                }
                message = message.TrimEnd('\n', '\r');
                var level = _severity.Match(message) is { Success: true } s
                    ? s.Groups[1].Value.ToUpperInvariant()
                    : "INFO";
                var severity = level switch
                {
                    "ERROR" or "SEVERE" => LogSeverity.Error,
                    "FATAL" => LogSeverity.Fatal,
                    "WARN" or "WARNING" => LogSeverity.Warn,
                    "DEBUG" or "TRACE" => LogSeverity.Debug,
                    _ => LogSeverity.Info,
                };
                string? traceId =
                    m.TraceId is { } tc && row.Fields.TryGetValue(tc, out var t) && t.Length > 0 ? t : null;
                string? spanId =
                    m.SpanId is { } sc && row.Fields.TryGetValue(sc, out var sp) && sp.Length > 0 ? sp : null;
                if (traceId is null)
                    (traceId, spanId) = Decode.Formats.TraceContext.FromText(message, spanId);
                record = new LogRecord(
                    m.Time.ToMs(row.Fields[m.Time.Column]),
                    mapping.Name,
                    ServiceOf(row.Fields[m.Service]),
                    severity,
                    message,
                    traceId,
                    spanId
                );
            }
            catch (Exception e)
                when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
            {
                Reject(file, line, row.Raw, e.Message);
            }
            if (record is not null)
                yield return record;
        }
    }

    private IEnumerable<TelemetryRecord> LoadSpans(IEnumerable<string> files)
    {
        var m = mapping.Traces!;
        foreach (var file in files)
        {
            var spans =
                new List<(
                    string Trace,
                    string Span,
                    string? Parent,
                    string Service,
                    string Op,
                    long StartMs,
                    double DurationMs,
                    bool Error
                )>();
            string[] columns = m.Status is { } st
                ? [m.TraceId, m.SpanId, m.ParentId, m.Service, m.Operation, m.Start.Column, m.End.Column, st]
                : [m.TraceId, m.SpanId, m.ParentId, m.Service, m.Operation, m.Start.Column, m.End.Column];
            foreach (var (csv, line) in Rows(file, columns, "traces"))
            {
                var row = csv.Fields!;
                try
                {
                    long startMs = m.Start.ToMs(row[m.Start.Column]);
                    double durationMs = m.End.ToMsPrecise(row[m.End.Column]) - m.Start.ToMsPrecise(row[m.Start.Column]);
                    var parent = row[m.ParentId];
                    bool error = m.Status is { } status && m.ErrorValues.Contains(row[status]);
                    spans.Add(
                        (
                            row[m.TraceId],
                            row[m.SpanId],
                            parent == m.RootParent || parent.Length == 0 ? null : parent,
                            ServiceOf(row[m.Service]),
                            row[m.Operation],
                            startMs,
                            Math.Max(0, durationMs),
                            error
                        )
                    );
                }
                catch (Exception e) when (e is FormatException or KeyNotFoundException)
                {
                    Reject(file, line, csv.Raw, e.Message);
                }
            }
            var byId = new Dictionary<string, int>(spans.Count, StringComparer.Ordinal);
            for (int i = 0; i < spans.Count; i++)
                byId.TryAdd(spans[i].Span, i);
            // The server span that encloses a span within its own service (itself if its parent is elsewhere).
            string EnclosingServer(int i)
            {
                for (int hops = 0; hops < 64; hops++)
                {
                    if (
                        spans[i].Parent is not { } p
                        || !byId.TryGetValue(p, out var pi)
                        || spans[pi].Service != spans[i].Service
                    )
                        return spans[i].Span;
                    i = pi;
                }
                return spans[i].Span;
            }
            for (int i = 0; i < spans.Count; i++)
            {
                var s = spans[i];
                bool parentElsewhere =
                    s.Parent is null || !byId.TryGetValue(s.Parent, out var pi) || spans[pi].Service != s.Service;
                yield return new SpanRecord(
                    s.StartMs,
                    mapping.Name,
                    s.Service,
                    s.Trace,
                    s.Span,
                    s.Parent,
                    s.Op,
                    parentElsewhere ? SpanKind.Server : SpanKind.Internal,
                    null,
                    s.DurationMs,
                    s.Error
                );
                if (s.Parent is not null && byId.TryGetValue(s.Parent, out pi) && spans[pi].Service != s.Service)
                    yield return new SpanRecord(
                        s.StartMs,
                        mapping.Name,
                        spans[pi].Service,
                        s.Trace,
                        s.Span + ":client",
                        EnclosingServer(pi),
                        s.Op,
                        SpanKind.Client,
                        s.Service,
                        s.DurationMs,
                        s.Error
                    );
            }
        }
    }

    private IEnumerable<TelemetryRecord> LoadMetrics(IEnumerable<string> files, GaugeSeries gauges)
    {
        var m = mapping.Metrics!;
        foreach (var file in files)
        {
            if (m.Layout == MetricLayout.Wide)
            {
                LoadWide(file, m, gauges);
                continue;
            }
            var totals = new Dictionary<string, (double Total, long LastMs)>();
            string[] required =
            [
                m.Time.Column,
                m.Service!,
                .. m.NameColumn is null ? m.Columns.Keys.Concat(m.Gauges.Keys) : [m.NameColumn, m.ValueColumn!],
                .. m.StatisticColumn is null ? [] : new[] { m.StatisticColumn },
            ];
            foreach (var (csv, line) in Rows(file, required, "metrics"))
            {
                var row = csv.Fields!;
                long ts;
                string service;
                try
                {
                    ts = m.Time.ToMs(row[m.Time.Column]);
                    service = ServiceOf(row[m.Service!]);
                }
                catch (FormatException e)
                {
                    Reject(file, line, csv.Raw, e.Message);
                    continue;
                }
                if (m.NameColumn is { } nameColumn)
                {
                    // One sample per row: the metric's name picks its declared gauge.
                    var name = row[nameColumn];
                    if (!m.Gauges.TryGetValue(name, out var gauge))
                    {
                        Reject(
                            file,
                            line,
                            csv.Raw,
                            $"column '{nameColumn}': metric '{name}' has no gauge in the mapping (metrics.gauges)"
                        );
                        continue;
                    }
                    if (Number(file, line, csv.Raw, m.ValueColumn!, row[m.ValueColumn!]) is { } v)
                        gauges.Add(service, ts, gauge, m.StatisticColumn is { } sc ? row[sc] : null, v);
                    continue;
                }
                foreach (var (column, gauge) in m.Gauges)
                    if (Number(file, line, csv.Raw, column, row[column]) is { } v)
                        gauges.Add(service, ts, gauge, null, v);
                foreach (var (column, target) in m.Columns)
                {
                    if (Number(file, line, csv.Raw, column, row[column]) is not { } value)
                        continue;
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

    /// <summary>A wide file: one row per time, a column per service × metric (named by the column pattern or by header
    /// rows).</summary>
    private void LoadWide(string file, MetricMapping m, GaugeSeries gauges)
    {
        using var reader = new StreamReader(file);
        using var csv = CsvReader.ReadRows(reader).GetEnumerator();
        int headerCount = m.HeaderRows?.Length ?? 1;
        var header = new List<List<string>>();
        for (int i = 0; i < headerCount; i++)
            header.Add(
                csv.MoveNext()
                    ? [.. csv.Current]
                    : throw new InvalidDataException($"{file}: {headerCount} header row(s) expected, the file has {i}")
            );
        int timeIndex = header[0].IndexOf(m.Time.Column);
        if (timeIndex < 0)
            throw new InvalidDataException(
                $"{file}:1: no column '{m.Time.Column}' (metrics.time.column); header: {string.Join(", ", header[0].Take(10))}"
            );
        var pattern = m.ColumnPattern is { } p ? new Regex(p) : null;
        var series = new (string Service, GaugeSpec Gauge, string? Statistic)?[header[0].Count];
        for (int c = 0; c < header[0].Count; c++)
        {
            if (c == timeIndex || m.IgnoreColumns.Contains(header[0][c]))
                continue;
            string? service,
                metric,
                statistic = null;
            if (pattern is not null)
            {
                var match = pattern.Match(header[0][c]);
                if (!match.Success)
                    throw new InvalidDataException(
                        $"{file}:1: column {c + 1} '{header[0][c]}' does not match "
                            + "metrics.columnPattern (list it in metrics.ignoreColumns to leave it out)"
                    );
                service = match.Groups["service"].Value;
                metric = match.Groups["metric"].Value;
                if (match.Groups["statistic"] is { Success: true } g && g.Length > 0)
                    statistic = g.Value;
            }
            else
            {
                string Cell(string role)
                {
                    int r = Array.IndexOf(m.HeaderRows!, role);
                    return r < 0 ? ""
                        : c < header[r].Count ? header[r][c]
                        : "";
                }
                service = Cell("service");
                metric = Cell("metric");
                statistic = Cell("statistic") is { Length: > 0 } st ? st : null;
                if (service.Length == 0 || metric.Length == 0)
                    throw new InvalidDataException(
                        $"{file}: column {c + 1} has no service or metric in its header rows "
                            + $"(list '{header[0][c]}' in metrics.ignoreColumns to leave it out)"
                    );
            }
            if (!m.Gauges.TryGetValue(metric, out var gauge))
                throw new InvalidDataException(
                    $"{file}: column {c + 1} '{header[0][c]}': metric '{metric}' has no gauge in the mapping (metrics.gauges: {string.Join(", ", m.Gauges.Keys)})"
                );
            if (statistic is not null && GaugeStatistics.Quantile(statistic) is null)
                throw new InvalidDataException(
                    $"{file}: column {c + 1} '{header[0][c]}': "
                        + $"statistic '{statistic}' is not one of avg, mean, p50, p90, p95, p99, max"
                );
            series[c] = (ServiceOf(service), gauge, statistic);
        }
        int line = headerCount;
        while (csv.MoveNext())
        {
            var row = csv.Current;
            line++;
            RowsRead++;
            if (row.Length == 1 && row[0].Length == 0)
                continue;
            if (row.Length != header[0].Count)
            {
                Reject(file, line, row, $"{row.Length} fields, the header {header[0].Count}");
                continue;
            }
            long ts;
            try
            {
                ts = m.Time.ToMs(row[timeIndex]);
            }
            catch (FormatException e)
            {
                Reject(file, line, row, $"column {timeIndex + 1}: {e.Message}");
                continue;
            }
            for (int c = 0; c < row.Length; c++)
                if (series[c] is { } s && Number(file, line, row, header[0][c], row[c]) is { } v)
                    gauges.Add(s.Service, ts, s.Gauge, s.Statistic, v);
        }
    }

    private void LoadEdgeMetrics(IEnumerable<string> files, GaugeSeries gauges)
    {
        var m = mapping.EdgeMetrics!;
        foreach (var file in files)
        {
            var fromName = EdgeFromFileName(file);
            if (m.FileNamePattern is not null && fromName is null && (m.Caller is null || m.Callee is null))
                throw new InvalidDataException($"{file}: the file name does not match edgeMetrics.fileNamePattern");
            string[] required =
            [
                m.Time.Column,
                .. m.Gauges.Keys,
                .. fromName is null ? new[] { m.Caller!, m.Callee! } : [],
            ];
            foreach (var (csv, line) in Rows(file, required, "edgeMetrics"))
            {
                var row = csv.Fields!;
                long ts;
                try
                {
                    ts = m.Time.ToMs(row[m.Time.Column]);
                }
                catch (FormatException e)
                {
                    Reject(file, line, csv.Raw, e.Message);
                    continue;
                }
                var (caller, callee) = fromName ?? (ServiceOf(row[m.Caller!]), ServiceOf(row[m.Callee!]));
                foreach (var (column, gauge) in m.Gauges)
                    if (Number(file, line, csv.Raw, column, row[column]) is { } v)
                        gauges.Add($"{caller}→{callee}", ts, gauge, null, v);
            }
        }
    }

    private (string From, string To)? EdgeFromFileName(string file) =>
        mapping.EdgeMetrics?.FileNamePattern is { } p && Regex.Match(Path.GetFileName(file), p) is { Success: true } m
            ? (ServiceOf(m.Groups["caller"].Value), ServiceOf(m.Groups["callee"].Value))
            : null;

    /// <summary>Change records (JSON lines or a JSON array) in any of the change formats; unreadable ones are
    /// dead-lettered.</summary>
    private List<ChangeEvent> LoadChanges(IEnumerable<string> files)
    {
        var decoder = new ChangeDecoder(mapping.Name);
        var changes = new List<ChangeEvent>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            IEnumerable<(string Json, int Line)> records = text.TrimStart().StartsWith('[')
                ? ParseJsonArray(file, text)
                : text.Split('\n').Select((l, i) => (l.Trim(), i + 1)).Where(x => x.Item1.Length > 0);
            foreach (var (json, line) in records)
            {
                RowsRead++;
                try
                {
                    var (decoded, ignored) = decoder.Decode(json);
                    if (ignored is not null)
                        ChangesIgnored++;
                    foreach (var c in decoded)
                    {
                        changes.Add(c with { Service = ServiceOf(c.Service) });
                        ChangesRead++;
                    }
                }
                catch (FormatException e)
                {
                    Reject(file, line, json, e.Message);
                }
            }
        }
        return changes.OrderBy(c => c.TimestampMs).ToList();
    }

    private static IEnumerable<(string, int)> ParseJsonArray(string file, string text)
    {
        using var doc = ParseJson(file, text);
        return doc.RootElement.EnumerateArray().Select((e, i) => (e.GetRawText(), i + 1)).ToList();
    }

    private static JsonDocument ParseJson(string file, string? text = null)
    {
        try
        {
            return JsonDocument.Parse(text ?? File.ReadAllText(file));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
    }

    /// <summary>A metric cell as a number: null for an empty cell (counted) or a bad one (dead-lettered with file, line
    /// and column).</summary>
    private double? Number(string file, int line, object raw, string column, string text)
    {
        if (text.Length == 0)
        {
            BlankValues++;
            return null;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v))
            return v;
        Reject(file, line, raw, $"column '{column}': '{text}' is not a number");
        return null;
    }

    /// <summary>
    /// The file's well-formed rows with their line; malformed ones (real exports have them) are dead-lettered here.
    /// A column the mapping names but the header lacks is a mapping error, not a bad row: it stops the load.
    /// </summary>
    private IEnumerable<(CsvReader.Row Row, int Line)> Rows(
        string file,
        IReadOnlyCollection<string> columns,
        string section
    )
    {
        bool checkedHeader = false;
        foreach (var row in CsvReader.ReadRecords(file))
        {
            RowsRead++;
            if (!checkedHeader && row.Fields is { } first)
            {
                checkedHeader = true;
                var missing = columns.Where(c => !first.ContainsKey(c)).ToList();
                if (missing.Count > 0)
                    throw new InvalidDataException(
                        $"{file}:1: no column {string.Join(", ", missing.Select(c => $"'{c}'"))} named by {section} in the mapping; header: {string.Join(", ", first.Keys.Take(12))}"
                    );
            }
            if (row.Fields is null)
                Reject(file, row.Number, row.Raw, row.Error!);
            else
                yield return (row, row.Number);
        }
    }

    private void Reject(string file, int line, object row, string reason)
    {
        RowsRejected++;
        deadLetters.Write(
            new DeadLetter(
                "dataset",
                DeadLetterCode.MalformedRow,
                $"{Path.GetFileName(file)}:{line}: {reason}",
                row as string ?? JsonSerializer.Serialize(row)
            )
        );
    }

    private static IEnumerable<JsonElement> Flatten(JsonElement e) =>
        e.ValueKind switch
        {
            JsonValueKind.Array => e.EnumerateArray().SelectMany(Flatten),
            JsonValueKind.Object
                when e.EnumerateObject().Any()
                    && e.EnumerateObject().All(p => p.Value.ValueKind is JsonValueKind.Array or JsonValueKind.Object) =>
                e.EnumerateObject().SelectMany(p => Flatten(p.Value)),
            _ => [e],
        };

    /// <summary>Expands a relative glob with "*" inside path segments, in ordinal order: the files it
    /// matches.</summary>
    private static IEnumerable<string> Glob(string pattern, string dir) => GlobEntries(pattern, dir).Where(File.Exists);

    private static IEnumerable<string> GlobEntries(string pattern, string dir)
    {
        IEnumerable<string> current = [dir];
        foreach (var segment in pattern.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var seg = segment;
            current = seg.Contains('*')
                ? current
                    .Where(Directory.Exists)
                    .SelectMany(d => Directory.EnumerateFileSystemEntries(d, seg))
                    .Order(StringComparer.Ordinal)
                    .ToList()
                : current.Select(d => Path.Combine(d, seg)).Where(p => File.Exists(p) || Directory.Exists(p)).ToList();
        }
        return current;
    }
}
