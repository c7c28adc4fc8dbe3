using System.Text.Json.Nodes;
using Json.Schema;
using LogWhisperer.Explain;

namespace LogWhisperer.Tests;

/// <summary>
/// A consumer of the RCA event contract written against the published schema files only, with an independent
/// JSON Schema 2020-12 validator (JsonSchema.Net): what a team reading LogWhisperer's events would do.
/// </summary>
internal static class RcaSchemaConsumer
{
    public static string SchemaDirectory =>
        Path.Combine(TestData.RepoRoot, "src", "LogWhisperer.Engine", "Explain", "Schemas");
    public static readonly JsonSchema Event = JsonSchema.FromText(
        File.ReadAllText(Path.Combine(SchemaDirectory, RcaSchemas.EventFile))
    );
    public static readonly JsonSchema CloudEvent = JsonSchema.FromText(
        File.ReadAllText(Path.Combine(SchemaDirectory, RcaSchemas.CloudEventFile))
    );

    private static EvaluationOptions Options()
    {
        var options = new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true };
        options.SchemaRegistry.Register(Event); // the envelope's data $ref resolves to the event schema by its $id
        return options;
    }

    /// <returns>The validation errors (empty when valid).</returns>
    public static List<string> Errors(JsonSchema schema, string json)
    {
        var result = schema.Evaluate(JsonNode.Parse(json), Options());
        if (result.IsValid)
            return [];
        var errors = (result.Details ?? [])
            .Where(d => d.HasErrors)
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))
            .ToList();
        return errors.Count > 0 ? errors : ["invalid"];
    }
}
