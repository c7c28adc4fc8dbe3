using System.Text;

namespace LogWhisperer.Sources;

/// <summary>
/// A small RFC 4180 CSV reader for the exports datasets ship (Loghub, Nezha): comma-separated,
/// double-quoted fields with "" escapes and embedded newlines. Streams rows; the first row is the header.
/// </summary>
public sealed class CsvReader(TextReader reader)
{
    private readonly StringBuilder _field = new();

    /// <summary>Every row's raw fields (the header included).</summary>
    public static IEnumerable<string[]> ReadRows(TextReader reader)
    {
        var csv = new CsvReader(reader);
        while (csv.ReadRow() is { } row) yield return row.ToArray();
    }

    /// <summary>One data row: its fields by header name, or why it could not be read (with its raw fields).</summary>
    public sealed record Row(int Number, Dictionary<string, string>? Fields, string? Error, IReadOnlyList<string> Raw);

    public static IEnumerable<Row> ReadRecords(string path)
    {
        using var stream = new StreamReader(path);
        var csv = new CsvReader(stream);
        var header = csv.ReadRow() ?? throw new InvalidDataException($"{path}: empty CSV file");
        int number = 1;
        while (csv.ReadRow() is { } row)
        {
            number++;
            if (row.Count == 1 && row[0].Length == 0) continue; // blank line
            if (row.Count != header.Count) { yield return new Row(number, null, $"row {number} has {row.Count} fields, the header {header.Count}", row); continue; }
            var record = new Dictionary<string, string>(header.Count, StringComparer.Ordinal);
            for (int i = 0; i < header.Count; i++) record[header[i]] = row[i];
            yield return new Row(number, record, null, row);
        }
    }

    /// <summary>The next row's fields, or null at the end.</summary>
    public List<string>? ReadRow()
    {
        int c = reader.Read();
        if (c < 0) return null;
        var fields = new List<string>();
        _field.Clear();
        bool quoted = false;
        while (true)
        {
            if (quoted)
            {
                if (c < 0) throw new InvalidDataException("unterminated quoted CSV field");
                if (c == '"')
                {
                    if (reader.Peek() == '"') { _field.Append('"'); reader.Read(); }
                    else quoted = false;
                }
                else _field.Append((char)c);
            }
            else if (c == '"' && _field.Length == 0) quoted = true;
            else if (c == ',') { fields.Add(_field.ToString()); _field.Clear(); }
            else if (c is '\n' or -1) { fields.Add(_field.ToString()); return fields; }
            else if (c == '\r' && reader.Peek() == '\n') { }
            else _field.Append((char)c);
            c = reader.Read();
        }
    }
}
