using System.Text.Json;

namespace LogWhisperer.Decode.Formats;

/// <summary>JSON helpers shared by the JSON decoders: every malformation becomes an <see cref="InvalidDataException"/>.</summary>
internal static class JsonFormat
{
    public static JsonDocument Parse(ReadOnlySpan<byte> payload, string what)
    {
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 64 });
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e) { throw new InvalidDataException($"{what}: malformed JSON ({e.Message})"); }
    }

    /// <summary>An object of string values (labels), or empty when the property is absent.</summary>
    public static Dictionary<string, string> StringMap(JsonElement parent, string property, string what)
    {
        var map = new Dictionary<string, string>();
        if (!parent.TryGetProperty(property, out var obj) || obj.ValueKind == JsonValueKind.Null) return map;
        if (obj.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{what}: \"{property}\" must be an object");
        foreach (var p in obj.EnumerateObject())
            map[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        return map;
    }
}
