using System.Text;

namespace LogWhisperer.Windowing;

/// <summary>
/// Binary encoding of a <see cref="ServiceWindow"/> for the intermediate topic: a version byte, then fields in
/// a fixed order (little-endian numbers, length-prefixed UTF-8 strings). Binary rather than JSON because the
/// statistics hold NaN ("no sample") and doubles that must come back bit for bit, and because latency
/// sketches are mostly empty buckets (written sparse: index, count). Decoding rejects anything malformed
/// with <see cref="InvalidDataException"/>, which the scoring stage dead-letters.
/// </summary>
internal static class ServiceWindowCodec
{
    public const byte Version = 3;
    public const string ContentType = "application/vnd.logwhisperer.service-window.v3";

    public static byte[] Encode(ServiceWindow w)
    {
        using var buffer = new MemoryStream();
        using (var o = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            o.Write(Version);
            o.Write(w.Cluster);
            o.Write(w.StartMs);
            o.Write(w.EndMs);
            o.Write(w.Service);
            var s = w.Stats;
            o.Write(s.ServerSpans);
            o.Write(s.ServerErrors);
            o.Write(s.OriginErrors);
            Write(o, s.Latency);
            Write(o, s.SelfTime);
            o.Write(s.ClientSpans);
            o.Write(s.ClientErrors);
            o.Write(s.Logs);
            o.Write(s.ErrorLogs);
            o.Write(s.WarnLogs);
            o.Write(s.OwnErrorLogs);
            o.Write(s.Templates.Count);
            foreach (var (id, (count, example)) in s.Templates)
            {
                o.Write(id);
                o.Write(count);
                o.Write(example);
            }
            o.Write(s.MetricSamples);
            o.Write(s.CpuFirst);
            o.Write(s.CpuLast);
            o.Write(s.CpuFirstMs);
            o.Write(s.CpuLastMs);
            o.Write(s.MemoryMaxBytes);
            o.Write(s.RestartsFirst);
            o.Write(s.RestartsLast);
            o.Write(s.Mesh is not null);
            if (s.Mesh is { } mesh)
            {
                o.Write(mesh.Requests.Count);
                foreach (var (series, isError) in mesh.Requests.Values)
                {
                    Write(o, series);
                    o.Write(isError);
                }
                o.Write(mesh.DurationBuckets.Count);
                foreach (var (series, le) in mesh.DurationBuckets.Values)
                {
                    Write(o, series);
                    o.Write(le);
                }
            }
            var e = s.Evidence;
            o.Write(e.WindowAnomalousTraces);
            o.Write(e.AnomalousTraces);
            o.Write(e.NormalTraces);
            o.Write(e.Spectrum);
            o.Write(e.DeepestShare);
            o.Write(e.SlowSpans);
            o.Write(e.LinkedErrorLines);
            o.Write(e.ShiftedErrorLines);
            o.Write(e.EventRise);
            o.Write(e.EventFall);
            o.Write(e.TopEvent ?? "");
            o.Write(w.Calls.Count);
            foreach (var (to, edge) in w.Calls)
            {
                o.Write(to);
                o.Write(edge.Calls);
                o.Write(edge.Errors);
                Write(o, edge.Latency);
            }
        }
        return buffer.ToArray();
    }

    public static ServiceWindow Decode(ReadOnlySpan<byte> bytes)
    {
        using var buffer = new MemoryStream(bytes.ToArray(), writable: false);
        using var i = new BinaryReader(buffer, Encoding.UTF8);
        try
        {
            byte version = i.ReadByte();
            if (version != Version)
                throw new InvalidDataException(
                    $"service window: unsupported version {version} (this engine reads {Version})"
                );
            string cluster = i.ReadString();
            long start = i.ReadInt64(),
                end = i.ReadInt64();
            string service = i.ReadString();
            if (end <= start)
                throw new InvalidDataException($"service window: end {end} not after start {start}");
            var s = new ServiceWindowStats
            {
                ServerSpans = i.ReadInt64(),
                ServerErrors = i.ReadInt64(),
                OriginErrors = i.ReadInt64(),
            };
            Read(i, s.Latency);
            Read(i, s.SelfTime);
            s.ClientSpans = i.ReadInt64();
            s.ClientErrors = i.ReadInt64();
            s.Logs = i.ReadInt64();
            s.ErrorLogs = i.ReadInt64();
            s.WarnLogs = i.ReadInt64();
            s.OwnErrorLogs = i.ReadInt64();
            for (int n = Count(i); n > 0; n--)
            {
                int id = i.ReadInt32(),
                    count = i.ReadInt32();
                s.Templates[id] = (count, i.ReadString());
            }
            s.MetricSamples = i.ReadInt64();
            s.CpuFirst = i.ReadDouble();
            s.CpuLast = i.ReadDouble();
            s.CpuFirstMs = i.ReadInt64();
            s.CpuLastMs = i.ReadInt64();
            s.MemoryMaxBytes = i.ReadDouble();
            s.RestartsFirst = i.ReadDouble();
            s.RestartsLast = i.ReadDouble();
            if (i.ReadBoolean())
            {
                var mesh = s.Mesh = new MeshRequestSamples();
                for (int n = Count(i); n > 0; n--)
                {
                    var series = ReadSeries(i);
                    mesh.Requests[series.Key] = (series, i.ReadBoolean());
                }
                for (int n = Count(i); n > 0; n--)
                {
                    var series = ReadSeries(i);
                    mesh.DurationBuckets[series.Key] = (series, i.ReadDouble());
                }
            }
            s.Evidence = new TraceEvidenceStats
            {
                WindowAnomalousTraces = i.ReadInt64(),
                AnomalousTraces = i.ReadInt64(),
                NormalTraces = i.ReadInt64(),
                Spectrum = i.ReadDouble(),
                DeepestShare = i.ReadDouble(),
                SlowSpans = i.ReadInt64(),
                LinkedErrorLines = i.ReadInt64(),
                ShiftedErrorLines = i.ReadInt64(),
                EventRise = i.ReadDouble(),
                EventFall = i.ReadDouble(),
                TopEvent = i.ReadString() is { Length: > 0 } top ? top : null,
            };
            var calls = new Dictionary<string, EdgeWindowStats>(StringComparer.Ordinal);
            for (int n = Count(i); n > 0; n--)
            {
                string to = i.ReadString();
                var edge = calls[to] = new EdgeWindowStats { Calls = i.ReadInt64(), Errors = i.ReadInt64() };
                Read(i, edge.Latency);
            }
            if (buffer.Position != buffer.Length)
                throw new InvalidDataException($"service window: {buffer.Length - buffer.Position} trailing byte(s)");
            return new ServiceWindow(cluster, start, end, service, s, calls);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException("service window: truncated");
        }
        catch (FormatException e)
        {
            throw new InvalidDataException("service window: " + e.Message);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException("service window: " + e.Message);
        } // duplicate keys
    }

    private static int Count(BinaryReader i)
    {
        int n = i.ReadInt32();
        // Every entry takes at least one byte: a count beyond what is left is corrupt, not a reason to loop.
        if (n < 0 || n > i.BaseStream.Length - i.BaseStream.Position)
            throw new InvalidDataException($"service window: bad count {n}");
        return n;
    }

    private static void Write(BinaryWriter o, LatencySketch sketch)
    {
        var counts = sketch.BucketCounts;
        int used = 0;
        foreach (int c in counts)
            if (c != 0)
                used++;
        o.Write(used);
        for (int b = 0; b < counts.Length; b++)
            if (counts[b] != 0)
            {
                o.Write((short)b);
                o.Write(counts[b]);
            }
    }

    private static void Read(BinaryReader i, LatencySketch sketch)
    {
        for (int n = Count(i); n > 0; n--)
            sketch.AddBucket(i.ReadInt16(), i.ReadInt32());
    }

    private static void Write(BinaryWriter o, MeshRequestSamples.Series series)
    {
        o.Write(series.Key);
        o.Write(series.Samples.Count);
        foreach (var (ts, value) in series.Samples)
        {
            o.Write(ts);
            o.Write(value);
        }
    }

    private static MeshRequestSamples.Series ReadSeries(BinaryReader i)
    {
        var series = new MeshRequestSamples.Series(i.ReadString());
        for (int n = Count(i); n > 0; n--)
            series.Samples.Add((i.ReadInt64(), i.ReadDouble()));
        return series;
    }
}
