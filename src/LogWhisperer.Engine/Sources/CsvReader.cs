using System.Text;

namespace LogWhisperer.Sources;

/// <summary>
/// A small RFC 4180 reader (quoted fields, doubled quotes, newlines inside quotes) for the CSV exports that
/// datasets ship (Loghub, Nezha). Streams rows; the first row is the header.
/// </summary>
public static class CsvReader
{
    public static IEnumerable<string[]> ReadRows(TextReader reader)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, any = false;
        int c;
        while ((c = reader.Read()) >= 0)
        {
            any = true;
            char ch = (char)c;
            if (quoted)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); field.Append('"'); }
                    else quoted = false;
                }
                else field.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { fields.Add(field.ToString()); field.Clear(); }
            else if (ch == '\n')
            {
                if (field.Length > 0 && field[^1] == '\r') field.Length--;
                fields.Add(field.ToString()); field.Clear();
                yield return fields.ToArray();
                fields.Clear(); any = false;
            }
            else field.Append(ch);
        }
        if (any) { fields.Add(field.ToString()); yield return fields.ToArray(); }
    }

    /// <summary>Rows of a file as header-name → value dictionaries.</summary>
    public static IEnumerable<Dictionary<string, string>> ReadRecords(string path)
    {
        using var reader = new StreamReader(path);
        string[]? header = null;
        foreach (var row in ReadRows(reader))
        {
            if (header is null) { header = row; continue; }
            var record = new Dictionary<string, string>(header.Length);
            for (int i = 0; i < header.Length && i < row.Length; i++) record[header[i]] = row[i];
            yield return record;
        }
    }
}
