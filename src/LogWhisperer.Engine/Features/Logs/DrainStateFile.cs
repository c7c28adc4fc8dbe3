using System.Text.Json;

namespace LogWhisperer.Features.Logs;

/// <summary>
/// Saves and restores the template miners of many services as one JSON file (format <c>lw-drain/1</c>), so
/// template ids stay the same across restarts: a restored parser matches every line to the same id as before
/// and numbers new templates after the highest id it ever gave out. A template's other shapes (the same template
/// with another token count or tree path) are stored with it; files written before shapes existed still load.
/// </summary>
internal static class DrainStateFile
{
    public const string Format = "lw-drain/1";

    private sealed record ShapeState(ulong[] Path, string[] Tokens);

    private sealed record TemplateState(int Id, ulong[] Path, string[] Tokens, long Count, ShapeState[]? Shapes = null);

    private sealed record ParserState(int NextId, TemplateState[] Templates);

    private sealed record FileState(string Format, DrainOptions Options, Dictionary<string, ParserState> Services);

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static void Save(string path, DrainOptions options, IReadOnlyDictionary<string, DrainParser> parsers)
    {
        var services = parsers.ToDictionary(
            p => p.Key,
            p => new ParserState(
                p.Value.NextId,
                p.Value.Templates.OrderBy(t => t.Id)
                    .Select(t => new TemplateState(
                        t.Id,
                        t.Path,
                        t.Tokens,
                        t.Count,
                        t.Shapes?.Select(s => new ShapeState(s.Path, s.Tokens)).ToArray()
                    ))
                    .ToArray()
            )
        );
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(new FileState(Format, options, services), Json));
        File.Move(tmp, path, overwrite: true); // a crash mid-write never leaves a truncated state behind
    }

    public static (DrainOptions Options, Dictionary<string, DrainParser> Parsers) Load(string path)
    {
        var state =
            JsonSerializer.Deserialize<FileState>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path}: empty template state");
        if (state.Format != Format)
            throw new InvalidDataException($"{path}: template state is '{state.Format}', expected '{Format}'");
        var parsers = new Dictionary<string, DrainParser>();
        foreach (var (service, s) in state.Services)
        {
            var parser = new DrainParser(state.Options);
            foreach (var t in s.Templates)
            {
                var template = new LogTemplateCluster(t.Id, t.Path, Keys(t.Tokens), (string[])t.Tokens.Clone())
                {
                    Count = t.Count,
                    Literal = Literal(t.Tokens),
                };
                parser.Restore(template, s.NextId);
                foreach (var shape in t.Shapes ?? [])
                    parser.Restore(
                        new LogTemplateCluster(
                            t.Id,
                            shape.Path,
                            Keys(shape.Tokens),
                            (string[])shape.Tokens.Clone(),
                            template
                        )
                        {
                            Literal = Literal(shape.Tokens),
                        },
                        s.NextId
                    );
            }
            if (s.Templates.Length == 0)
                parser.Restore(s.NextId);
            parsers[service] = parser;
        }
        return (state.Options, parsers);
    }

    // A stored token is shown masked or as first seen (ssh2); masking it again gives the key lines are matched by.
    private static ulong[] Keys(string[] tokens) =>
        tokens.Select(x => LogTokenizer.KeyOf(LogTokenizer.MaskedText(x))).ToArray();

    // Tokens still shown as first seen (masking would change them) turn masked when a line differs, as before the
    // restart.
    private static bool[]? Literal(string[] tokens)
    {
        var literal = tokens.Select(x => LogTokenizer.MaskedText(x) != x).ToArray();
        return literal.Any(l => l) ? literal : null;
    }
}
