using nietras.SeparatedValues;

namespace LogWhisperer.Sources;

/// <summary>
/// Reads the CSV exports datasets ship (Loghub, Nezha) with Sep: RFC 4180 comma-separated values, double-quoted
/// fields with "" escapes and embedded newlines, SIMD-parsed, repeated values (service names, levels) shared
/// per column instead of allocated per row. Streams rows; the first row is the header. A row whose field count
/// differs from the header's is handed back with the reason and its raw fields, for the caller to dead-letter.
/// </summary>
internal static class CsvReader
{
    private static readonly SepReaderOptions Options = Sep.New(',')
        .Reader(o =>
            o with
            {
                HasHeader = false, // the header is row 1 here, so malformed rows keep their numbers
                Unescape = true, // "a ""b""" → a "b"
                DisableColCountCheck = true, // a malformed row is reported, not thrown
                CreateToString = SepToString.PoolPerCol(),
            }
        );

    /// <summary>Every row's raw fields (the header included).</summary>
    public static IEnumerable<string[]> ReadRows(TextReader reader)
    {
        using var csv = Options.From(reader);
        while (csv.MoveNext())
            yield return Fields(csv.Current);
    }

    /// <summary>One data row: its fields by header name, or why it could not be read (with its raw fields).</summary>
    public sealed record Row(int Number, Dictionary<string, string>? Fields, string? Error, IReadOnlyList<string> Raw);

    public static IEnumerable<Row> ReadRecords(string path)
    {
        using var csv = Options.FromFile(path);
        if (!csv.MoveNext())
            throw new InvalidDataException($"{path}: empty CSV file");
        var header = Fields(csv.Current);
        int number = 1;
        while (csv.MoveNext())
        {
            var (fields, runaway) = Read(csv, header.Length);
            // A stray quote makes Sep (which honours every quote, as RFC 4180 allows) read on past the end of its
            // line, swallowing the rows after it: read that stretch again line by line, so one malformed line
            // costs only itself (what a line-oriented export writer meant).
            foreach (
                var row in runaway is null ? [fields] : runaway.Split('\n').Select(line => ReadLine(line.TrimEnd('\r')))
            )
            {
                number++;
                if (row.Length == 1 && row[0].Length == 0)
                    continue; // blank line
                if (row.Length != header.Length)
                {
                    yield return new Row(
                        number,
                        null,
                        $"row {number} has {row.Length} fields, the header {header.Length}",
                        row
                    );
                    continue;
                }
                var record = new Dictionary<string, string>(header.Length, StringComparer.Ordinal);
                for (int i = 0; i < header.Length; i++)
                    record[header[i]] = row[i];
                yield return new Row(number, record, null, row);
            }
        }
    }

    /// <summary>The current row's fields, and its raw text when it is malformed and spans several lines.</summary>
    private static (string[] Fields, string? Runaway) Read(SepReader csv, int columns)
    {
        var row = csv.Current;
        // The raw text first: reading the fields unescapes them in Sep's buffer.
        var runaway = row.ColCount != columns && row.Span.Contains('\n') ? row.Span.ToString() : null;
        return (runaway is null ? Fields(row) : [], runaway);
    }

    private static string[] ReadLine(string line)
    {
        using var csv = Options.FromText(line);
        return csv.MoveNext() ? Fields(csv.Current) : [""];
    }

    private static string[] Fields(SepReader.Row row)
    {
        var fields = new string[row.ColCount];
        for (int i = 0; i < fields.Length; i++)
            fields[i] = row[i].ToString();
        return fields;
    }
}
