using System.Globalization;
using System.Text;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Export;

/// <summary>
/// Reads back what `chaos run` recorded (<see cref="DirectoryPayloadSink"/>'s layout): every Loki push body of
/// loki.jsonl and OTLP body of otlp.jsonl through the engine's own decoders, and every scrape in metrics/*.prom
/// through a Prometheus text-exposition parser, as batches of records (so `kafka-produce --from` can write them
/// into Kafka in the engine's formats). A line that does not decode is an error naming the file and line.
/// </summary>
public static class RecordedTelemetry
{
    public static IEnumerable<IReadOnlyList<TelemetryRecord>> Read(string directory, DecodeOptions? decode = null)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"no directory '{directory}' (the --out of `chaos run`)");
        decode ??= new DecodeOptions();
        var found = false;
        foreach (
            var (file, decoder) in new (string, ITelemetryDecoder)[]
            {
                (DirectoryPayloadSink.LokiFile, new LokiJsonDecoder(decode)),
                (DirectoryPayloadSink.OtlpFile, new OtlpTracesJsonDecoder(decode)),
            }
        )
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path))
                continue;
            found = true;
            int number = 0;
            foreach (var line in File.ReadLines(path))
            {
                number++;
                if (line.Length == 0)
                    continue;
                var records = new List<TelemetryRecord>();
                try
                {
                    decoder.Decode(Encoding.UTF8.GetBytes(line), records);
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"{path}:{number}: {e.Message}");
                }
                yield return records;
            }
        }
        var metrics = Path.Combine(directory, DirectoryPayloadSink.MetricsDirectory);
        if (Directory.Exists(metrics))
            foreach (
                var path in Directory
                    .GetFiles(metrics, "*.prom")
                    .OrderBy(p => long.TryParse(Path.GetFileNameWithoutExtension(p), out var t) ? t : 0)
            )
            {
                found = true;
                long scrapedAt = long.TryParse(
                    Path.GetFileNameWithoutExtension(path),
                    NumberStyles.Integer,
                    CultureInfo.InvariantCulture,
                    out var t
                )
                    ? t
                    : 0;
                yield return ParseExposition(File.ReadAllText(path), scrapedAt, path);
            }
        if (!found)
            throw new FileNotFoundException(
                $"'{directory}' holds none of {DirectoryPayloadSink.LokiFile}, {DirectoryPayloadSink.OtlpFile}, "
                    + $"{DirectoryPayloadSink.MetricsDirectory}/*.prom (the output of `chaos run`)"
            );
    }

    /// <summary>
    /// One Prometheus text exposition document (0.0.4) → samples: the cluster from the <c>cluster</c> label, the
    /// service from <c>container</c> (the scraped pod's target labels), every other label kept; a sample without
    /// a timestamp gets the scrape's.
    /// </summary>
    public static List<TelemetryRecord> ParseExposition(string text, long scrapedAtMs, string source = "exposition")
    {
        var samples = new List<TelemetryRecord>();
        int number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            try
            {
                samples.Add(ParseSample(line, scrapedAtMs));
            }
            catch (FormatException e)
            {
                throw new InvalidDataException($"{source}:{number}: {e.Message}");
            }
        }
        return samples;
    }

    private static MetricSample ParseSample(string line, long scrapedAtMs)
    {
        int i = 0;
        while (i < line.Length && line[i] is not ('{' or ' ' or '\t'))
            i++;
        var name = line[..i];
        if (name.Length == 0)
            throw new FormatException("a sample without a metric name");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                while (i < line.Length && line[i] is ' ' or ',')
                    i++;
                if (i >= line.Length)
                    throw new FormatException("unterminated label set");
                if (line[i] == '}')
                {
                    i++;
                    break;
                }
                int eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
                    throw new FormatException($"label without a quoted value near '{line[i..]}'");
                var key = line[i..eq].Trim();
                var labelValue = new StringBuilder();
                int j = eq + 2;
                for (; j < line.Length && line[j] != '"'; j++)
                {
                    if (line[j] == '\\' && j + 1 < line.Length)
                    {
                        j++;
                        labelValue.Append(
                            line[j] switch
                            {
                                'n' => '\n',
                                var c => c,
                            }
                        );
                    }
                    else
                        labelValue.Append(line[j]);
                }
                if (j >= line.Length)
                    throw new FormatException("unterminated label value");
                labels[key] = labelValue.ToString();
                i = j + 1;
            }
        }
        var rest = line[i..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length is < 1 or > 2)
            throw new FormatException($"expected a value and an optional timestamp after {name}");
        double value = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        long ts =
            rest.Length == 2 ? long.Parse(rest[1], NumberStyles.Integer, CultureInfo.InvariantCulture) : scrapedAtMs;
        labels.Remove("cluster", out var cluster);
        labels.Remove("container", out var service);
        return new MetricSample(ts, cluster ?? "", service ?? "", name, value, labels);
    }
}
