namespace LogWhisperer.Explain;

/// <summary>
/// The published contract of the RCA event: JSON Schemas (draft 2020-12) embedded in the engine and copied
/// beside it as schemas/*.json. Consumers validate against them; tests hold the engine's output to them.
/// </summary>
public static class RcaSchemas
{
    /// <summary>The RCA event v1 (<c>$id</c> = <see cref="RcaEvent.SchemaUri"/>).</summary>
    public const string EventFile = "rca-event.v1.schema.json";

    /// <summary>The CloudEvents 1.0 envelope on the Kafka output topic, whose data references the event
    /// schema.</summary>
    public const string CloudEventFile = "rca-cloudevent.v1.schema.json";
    public const string CloudEventSchemaUri = "https://logwhisperer.dev/schemas/rca-cloudevent.v1.schema.json";

    public static string EventSchema => Read(EventFile);
    public static string CloudEventSchema => Read(CloudEventFile);

    private static string Read(string file)
    {
        using var stream =
            typeof(RcaSchemas).Assembly.GetManifestResourceStream("LogWhisperer.Schemas." + file)
            ?? throw new InvalidOperationException(
                $"schema resource {file} missing from {typeof(RcaSchemas).Assembly.GetName().Name}"
            );
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
