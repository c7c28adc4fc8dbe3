using System.Text.Json;

namespace LogWhisperer.Decode.Formats;

/// <summary>JSON helpers shared by the JSON decoders: every malformation becomes an
/// <see cref="InvalidDataException"/>.</summary>
internal static class JsonFormat
{
    public static JsonDocument Parse(ReadOnlySpan<byte> payload, string what)
    {
        // The reader checks structure, not the bytes inside strings: invalid UTF-8 there would surface later
        // as an InvalidOperationException from GetString (found by fuzzing), so refuse it up front.
        if (!System.Text.Unicode.Utf8.IsValid(payload))
            throw new InvalidDataException($"{what}: not valid UTF-8");
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 64 });
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{what}: malformed JSON ({e.Message})");
        }
    }

    /// <summary>
    /// Runs a decoder's walk over a parsed document. System.Text.Json reports a value of the wrong kind
    /// (an object where a string was expected, a lone surrogate escape, a number too large for an int) with
    /// InvalidOperationException or FormatException; those, and only those thrown by System.Text.Json, mean
    /// malformed input and become <see cref="InvalidDataException"/> (found by fuzzing).
    /// </summary>
    public static void Guard(string what, Action read)
    {
        try
        {
            read();
        }
        catch (Exception e)
            when (e is InvalidOperationException or FormatException
                && e.TargetSite?.DeclaringType?.Namespace?.StartsWith("System.Text.Json", StringComparison.Ordinal)
                    == true
            )
        {
            throw new InvalidDataException($"{what}: unexpected JSON ({e.Message})");
        }
    }

    /// <summary>The string members of an object (e.g. Loki's structured metadata); other members are left
    /// out.</summary>
    public static Dictionary<string, string> StringMembers(JsonElement obj)
    {
        var map = new Dictionary<string, string>();
        foreach (var p in obj.EnumerateObject())
            if (p.Value.ValueKind == JsonValueKind.String)
                map[p.Name] = p.Value.GetString()!;
        return map;
    }

    /// <summary>An object of string values (labels), or empty when the property is absent.</summary>
    public static Dictionary<string, string> StringMap(JsonElement parent, string property, string what)
    {
        var map = new Dictionary<string, string>();
        if (!parent.TryGetProperty(property, out var obj) || obj.ValueKind == JsonValueKind.Null)
            return map;
        if (obj.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{what}: \"{property}\" must be an object");
        foreach (var p in obj.EnumerateObject())
            map[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        return map;
    }
}
