using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Formats;

/// <summary>
/// Writes telemetry records in the real wire formats the decoders read: logs as a Loki protobuf push, metrics
/// as a remote-write WriteRequest, spans as OTLP TracesData. This is how the simulator feeds Kafka and the
/// gateway exactly as promtail, Prometheus and the OpenTelemetry Collector would. Identity goes where those
/// tools put it: the labels cluster and service_name, the resource attributes k8s.cluster.name and service.name.
/// </summary>
public static class TelemetryEncoder
{
    /// <summary>
    /// logproto.PushRequest, one stream per (cluster, service, level), snappy block compressed. The level is a
    /// stream label, as promtail/Alloy pipelines commonly set it, so severity survives the trip.
    /// </summary>
    public static byte[] LokiPush(IEnumerable<LogRecord> logs)
    {
        var w = new ProtoWriter();
        foreach (var stream in logs.GroupBy(l => (l.Cluster, l.Service, l.Severity)))
        {
            w.Message(
                1,
                s =>
                {
                    s.String(
                        1,
                        LabelSet.Format([
                            new("cluster", stream.Key.Cluster),
                            new("level", stream.Key.Severity.ToString().ToLowerInvariant()),
                            new("service_name", stream.Key.Service),
                        ])
                    );
                    foreach (var l in stream)
                        s.Message(
                            2,
                            e =>
                            {
                                e.Message(
                                    1,
                                    t =>
                                    {
                                        t.Varint(1, (ulong)(l.TimestampMs / 1000));
                                        t.Varint(2, (ulong)(l.TimestampMs % 1000 * 1_000_000));
                                    }
                                );
                                e.String(2, l.Message);
                                // Loki 3 structured metadata: the trace and span the line was written in.
                                if (l.TraceId is { } trace)
                                    e.Message(
                                        3,
                                        p =>
                                        {
                                            p.String(1, "trace_id");
                                            p.String(2, trace);
                                        }
                                    );
                                if (l.SpanId is { } span)
                                    e.Message(
                                        3,
                                        p =>
                                        {
                                            p.String(1, "span_id");
                                            p.String(2, span);
                                        }
                                    );
                            }
                        );
                }
            );
        }
        return SnappyBlock.Compress(w.WrittenSpan);
    }

    /// <summary>Remote-write 1.0 WriteRequest, one series per (name, labels), snappy block compressed.</summary>
    public static byte[] RemoteWrite(IEnumerable<MetricSample> samples)
    {
        var w = new ProtoWriter();
        foreach (var m in samples)
        {
            w.Message(
                1,
                ts =>
                {
                    void Label(string name, string value) =>
                        ts.Message(
                            1,
                            l =>
                            {
                                l.String(1, name);
                                l.String(2, value);
                            }
                        );
                    // Remote-write sorts labels by name; receivers may rely on it.
                    var labels = new SortedDictionary<string, string>(StringComparer.Ordinal)
                    {
                        ["__name__"] = m.Name,
                        ["cluster"] = m.Cluster,
                    };
                    if (m.Labels is not null)
                        foreach (var (k, v) in m.Labels)
                            labels[k] = v;
                    labels.TryAdd("service_name", m.Service);
                    foreach (var (k, v) in labels)
                        Label(k, v);
                    ts.Message(
                        2,
                        s =>
                        {
                            s.Double(1, m.Value);
                            s.Varint(2, (ulong)m.TimestampMs);
                        }
                    );
                }
            );
        }
        return SnappyBlock.Compress(w.WrittenSpan);
    }

    /// <summary>OTLP TracesData, one ResourceSpans per (cluster, service).</summary>
    public static byte[] OtlpTraces(IEnumerable<SpanRecord> spans)
    {
        var w = new ProtoWriter();
        foreach (var group in spans.GroupBy(s => (s.Cluster, s.Service)))
        {
            w.Message(
                1,
                rs =>
                {
                    rs.Message(
                        1,
                        res =>
                        {
                            StringAttribute(res, 1, "service.name", group.Key.Service);
                            StringAttribute(res, 1, "k8s.cluster.name", group.Key.Cluster);
                        }
                    );
                    rs.Message(
                        2,
                        ss =>
                        {
                            ss.Message(1, scope => scope.String(1, "logwhisperer-simulator"));
                            foreach (var s in group)
                                ss.Message(
                                    2,
                                    span =>
                                    {
                                        span.Bytes(1, HexOrHash(s.TraceId, 16));
                                        span.Bytes(2, HexOrHash(s.SpanId, 8));
                                        if (s.ParentSpanId is not null)
                                            span.Bytes(4, HexOrHash(s.ParentSpanId, 8));
                                        span.String(5, s.Operation);
                                        span.Varint(
                                            6,
                                            s.Kind switch
                                            {
                                                SpanKind.Server => 2,
                                                SpanKind.Client => 3,
                                                SpanKind.Producer => 4,
                                                SpanKind.Consumer => 5,
                                                _ => 1,
                                            }
                                        );
                                        ulong start = (ulong)s.TimestampMs * 1_000_000;
                                        span.Fixed64(7, start);
                                        span.Fixed64(8, start + (ulong)Math.Round(s.DurationMs * 1e6));
                                        if (s.PeerService is not null)
                                            StringAttribute(span, 9, "peer.service", s.PeerService);
                                        span.Message(15, st => st.Varint(3, s.IsError ? 2UL : 0UL));
                                    }
                                );
                        }
                    );
                }
            );
        }
        return w.ToArray();
    }

    private static void StringAttribute(ProtoWriter w, int field, string key, string value) =>
        w.Message(
            field,
            kv =>
            {
                kv.String(1, key);
                kv.Message(2, v => v.String(1, value));
            }
        );

    /// <summary>
    /// OTLP ids are raw bytes. Hex ids (as OpenTelemetry writes them) round-trip exactly; any other id (the
    /// simulator's) is hashed to the right width, which keeps parent/child links intact.
    /// </summary>
    private static byte[] HexOrHash(string id, int bytes)
    {
        if (id.Length == bytes * 2 && id.All(char.IsAsciiHexDigit))
            return Convert.FromHexString(id);
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id));
        return hash.AsSpan(0, bytes).ToArray();
    }
}
