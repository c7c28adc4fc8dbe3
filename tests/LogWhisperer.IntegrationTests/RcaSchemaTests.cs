using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using LogWhisperer.Explain;
using LogWhisperer.Hosting;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Sinks;
using static TorchSharp.torch;

namespace LogWhisperer.Tests;

public class RcaSchemaTests
{
    private static readonly Lazy<GatScorer> Shipped = new(() =>
        new GatScorer(GatModel.Load(TestData.ShippedModel, CPU), CPU)
    );
    private static readonly long T0 = new SimulationOptions().StartMs;

    /// <summary>Demo-like scenarios over several fault kinds: every event the engine emits, and its Kafka envelope, is
    /// valid.</summary>
    [Fact]
    public async Task EveryEventOfSimulatedIncidentsAndItsCloudEventValidate()
    {
        (string Service, FaultKind Kind)[] scenarios =
        [
            ("paymentservice", FaultKind.Errors),
            ("cartservice", FaultKind.Latency),
            ("currencyservice", FaultKind.PodKill),
            ("productcatalogservice", FaultKind.BadDeploy),
            ("adservice", FaultKind.MemoryLeak),
        ];
        var events = new List<RcaEvent>();
        foreach (var (service, kind) in scenarios)
        {
            var sink = new CollectingRcaSink();
            var fault = new Fault(service, kind, T0 + 6 * 60_000, T0 + 9 * 60_000, 0.7);
            await new SimulatedRun
            {
                Topology = TestData.OnlineBoutique(),
                Faults = [fault],
                Simulation = new SimulationOptions { Seed = 21 },
            }.RunAsync(Shipped.Value, sink);
            Assert.NotEmpty(sink.Events);
            events.AddRange(sink.Events);
        }

        foreach (var rca in events)
        {
            var json = rca.ToJson();
            Assert.True(
                RcaSchemaConsumer.Errors(RcaSchemaConsumer.Event, json) is [],
                $"{rca.Id}: {string.Join("; ", RcaSchemaConsumer.Errors(RcaSchemaConsumer.Event, json))}\n{json}"
            );
            var envelope = System.Text.Encoding.UTF8.GetString(KafkaRcaSink.ToCloudEvent(rca));
            Assert.True(
                RcaSchemaConsumer.Errors(RcaSchemaConsumer.CloudEvent, envelope) is [],
                $"{rca.Id}: {string.Join("; ", RcaSchemaConsumer.Errors(RcaSchemaConsumer.CloudEvent, envelope))}\n{envelope}"
            );
        }
        // The run exercised the optional parts of the contract too, so the schema was checked against them.
        Assert.Contains(events, e => e.Evidence.NewLogTemplate is not null);
        Assert.Contains(events, e => e.Evidence.PropagationPath is { Count: > 1 });
        Assert.Contains(events, e => e.Evidence.Neighbours.Count > 0);
        Assert.Contains(
            events,
            e => e.Evidence.Features.Any(f => f.Attribution is not null && f.Deviation is not null)
        );
        Assert.True(
            events.Select(e => e.FaultType.Kind).Distinct().Count() >= 3,
            string.Join(", ", events.Select(e => e.FaultType.Kind).Distinct())
        );
    }

    private static RcaEvent Sample() =>
        new()
        {
            Id = "rca-shop-1767225960000",
            Cluster = "shop",
            WindowStart = DateTimeOffset.FromUnixTimeMilliseconds(1767225960000),
            WindowEnd = DateTimeOffset.FromUnixTimeMilliseconds(1767225990000),
            IncidentProbability = 0.97,
            Candidates = [new RcaCandidate(1, "paymentservice", 0.91), new RcaCandidate(2, "checkoutservice", 0.05)],
            FaultType = new FaultGuess("Errors", 0.88),
            Explanation = "paymentservice is the most likely root cause.",
            Evidence = new RcaEvidence(
                [new FeatureEvidence("paymentservice", "error_ratio", "ErrorRatio", "ratio", 0.4, 0.01, 12.5, 0.3)],
                [new NeighbourEvidence("checkoutservice", "caller", 0.8, "error ratio 30%", 9.1)],
                null,
                [new PathHop("paymentservice", null), new PathHop("checkoutservice", 0.8)]
            ),
        };

    [Theory]
    [InlineData("remove", "cluster")]
    [InlineData("add", "severity")]
    [InlineData("set", "incidentProbability", "1.5")]
    [InlineData("set", "windowStart", "\"yesterday\"")]
    [InlineData("set", "candidates", "[]")]
    [InlineData("set", "schema", "\"logwhisperer.rca/v2\"")]
    [InlineData("set", "faultType", "{\"kind\":\"Errors\"}")]
    [InlineData(
        "set",
        "evidence",
        "{\"features\":[],\"neighbours\":[{\"service\":\"a\",\"relation\":\"sibling\",\"attention\":1,\"symptom\":\"x\",\"deviation\":1}]}"
    )]
    public void BrokenEventsFailValidation(string change, string property, string? value = null)
    {
        var valid = Sample().ToJson();
        Assert.Empty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.Event, valid));
        var broken = JsonNode.Parse(valid)!.AsObject();
        switch (change)
        {
            case "remove":
                broken.Remove(property);
                break;
            case "add":
                broken[property] = "critical";
                break;
            default:
                broken[property] = JsonNode.Parse(value!);
                break;
        }
        Assert.NotEmpty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.Event, broken.ToJsonString()));
    }

    [Fact]
    public void BrokenCloudEventsFailValidation()
    {
        var valid = JsonNode.Parse(KafkaRcaSink.ToCloudEvent(Sample()))!.AsObject();
        Assert.Empty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.CloudEvent, valid.ToJsonString()));
        var wrongSchema = valid.DeepClone().AsObject();
        wrongSchema["dataschema"] = "urn:logwhisperer:schema:logwhisperer.rca/v1";
        Assert.NotEmpty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.CloudEvent, wrongSchema.ToJsonString()));
        var brokenData = valid.DeepClone().AsObject();
        brokenData["data"]!.AsObject().Remove("candidates"); // the envelope holds its data to the event schema
        Assert.NotEmpty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.CloudEvent, brokenData.ToJsonString()));
        var extension = valid.DeepClone().AsObject();
        // CloudEvents extensions stay allowed
        extension["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        Assert.Empty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.CloudEvent, extension.ToJsonString()));
    }

    [Fact]
    public void DocumentedExampleIsAValidEvent()
    {
        var path = Path.Combine(TestData.RepoRoot, "docs", "rca-event.md");
        var doc = File.ReadAllText(path);
        int marker = doc.IndexOf("<!-- rca-event-example", StringComparison.Ordinal);
        Assert.True(marker >= 0, "docs/rca-event.md lost its RCA event example");
        int start = doc.IndexOf("```json", marker, StringComparison.Ordinal) + "```json\n".Length;
        int end = doc.IndexOf("```", start, StringComparison.Ordinal);
        var example = doc[start..end];
        Assert.Empty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.Event, example));
        Assert.Equal(RcaEvent.SchemaId, JsonSerializer.Deserialize<RcaEvent>(example, RcaEvent.JsonOptions)!.Schema);

        // And it is what the program prints: the first event of the command the page names, laid out for reading.
        var (_, stdout, err) = CliTests.Run("demo", "--seed", "7");
        var first = stdout.Split('\n').FirstOrDefault(l => l.StartsWith('{'));
        Assert.True(first is not null, err);
        var produced = ReadableJson.Format(JsonNode.Parse(first)!.AsObject()) + "\n";
        if (Environment.GetEnvironmentVariable("LW_UPDATE_DOCS") == "1")
            File.WriteAllText(path, doc[..start] + produced + doc[end..]);
        else
            Assert.True(
                produced == example,
                "docs/rca-event.md's example is not demo --seed 7's first event (LW_UPDATE_DOCS=1 "
                    + "dotnet test --filter DocumentedExampleIsAValidEvent rewrites it):\n"
                    + produced
            );
    }

    [Fact]
    public void SchemasAreShippedWithTheIdsTheEngineWrites()
    {
        Assert.Equal(
            File.ReadAllText(Path.Combine(RcaSchemaConsumer.SchemaDirectory, RcaSchemas.EventFile)),
            RcaSchemas.EventSchema
        );
        Assert.Equal(
            File.ReadAllText(Path.Combine(RcaSchemaConsumer.SchemaDirectory, RcaSchemas.CloudEventFile)),
            RcaSchemas.CloudEventSchema
        );
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "schemas", RcaSchemas.EventFile)));
        Assert.Equal(RcaEvent.SchemaUri, JsonNode.Parse(RcaSchemas.EventSchema)!["$id"]!.GetValue<string>());
        Assert.Equal(
            RcaSchemas.CloudEventSchemaUri,
            JsonNode.Parse(RcaSchemas.CloudEventSchema)!["$id"]!.GetValue<string>()
        );
        using var envelope = JsonDocument.Parse(KafkaRcaSink.ToCloudEvent(Sample()));
        Assert.Equal(RcaEvent.SchemaUri, envelope.RootElement.GetProperty("dataschema").GetString());
        Assert.Equal(
            RcaEvent.SchemaId,
            JsonNode.Parse(RcaSchemas.EventSchema)!["properties"]!["schema"]!["const"]!.GetValue<string>()
        );
        // Both are valid draft 2020-12 schemas.
        foreach (var schema in new[] { RcaSchemas.EventSchema, RcaSchemas.CloudEventSchema })
            Assert.True(
                MetaSchemas
                    .Draft202012.Evaluate(
                        JsonNode.Parse(schema),
                        new EvaluationOptions { OutputFormat = OutputFormat.List }
                    )
                    .IsValid
            );
    }

    /// <summary>
    /// Every property the serializer writes is declared in the schema and vice versa; the non-nullable ones are
    /// required, the nullable ones (omitted when null) are not; every object forbids unknown properties.
    /// </summary>
    [Fact]
    public void SchemaAndCSharpTypesDoNotDrift()
    {
        var root = JsonNode.Parse(RcaSchemas.EventSchema)!.AsObject();
        var checkedTypes = new List<string>();
        Walk(typeof(RcaEvent), root, root, checkedTypes);
        Assert.Equal(
            [
                "RcaEvent",
                "RcaCandidate",
                "FaultGuess",
                "RcaEvidence",
                "FeatureEvidence",
                "NeighbourEvidence",
                "PathHop",
                "TraceEvidence",
                "RcaChange",
                "Verdict",
                "Hypothesis",
                "ImpactedService",
                "IncidentInfo",
                "Urgency",
                "SimilarIncident",
            ],
            checkedTypes
        );
    }

    private static readonly NullabilityInfoContext Nullability = new();

    private static void Walk(Type type, JsonObject schema, JsonObject root, List<string> checkedTypes)
    {
        checkedTypes.Add(type.Name);
        Assert.False(
            schema["additionalProperties"]!.GetValue<bool>(),
            $"{type.Name}: additionalProperties must be false"
        );
        var declared = schema["properties"]!.AsObject();
        var required = schema["required"]!.AsArray().Select(r => r!.GetValue<string>()).ToHashSet();
        var written = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null)
            .ToDictionary(p => RcaEvent.JsonOptions.PropertyNamingPolicy!.ConvertName(p.Name));
        Assert.Equal(written.Keys.Order(), declared.Select(p => p.Key).Order());
        foreach (var (name, property) in written)
        {
            bool nullable = Nullability.Create(property).ReadState == NullabilityState.Nullable;
            Assert.True(
                nullable != required.Contains(name),
                $"{type.Name}.{name}: {(nullable ? "nullable, so omitted when null: must not be required" : "always written: must be required")}"
            );
            var propertyType = property.PropertyType;
            var schemaOfProperty = declared[name]!.AsObject();
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
            {
                propertyType = propertyType.GetGenericArguments()[0];
                Assert.Equal("array", schemaOfProperty["type"]!.GetValue<string>());
                schemaOfProperty = schemaOfProperty["items"]!.AsObject();
            }
            if (propertyType.Namespace == typeof(RcaEvent).Namespace && propertyType.IsClass)
            {
                var reference = schemaOfProperty["$ref"]!.GetValue<string>();
                Assert.Equal("#/$defs/" + propertyType.Name, reference);
                Walk(propertyType, root["$defs"]![propertyType.Name]!.AsObject(), root, checkedTypes);
            }
        }
    }
}

/// <summary>JSON laid out for reading in docs: one property per line, arrays of objects one object per line, the rest
/// inline.</summary>
internal static class ReadableJson
{
    private static readonly JsonSerializerOptions Relaxed = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Format(JsonObject o, string indent = "") =>
        "{\n"
        + string.Join(",\n", o.Select(kv => $"{indent}  {Inline(kv.Key)}: {Value(kv.Value, indent + "  ")}"))
        + $"\n{indent}}}";

    private static bool ListOfObjects(JsonNode? n) => n is JsonArray a && a.Count > 0 && a.All(x => x is JsonObject);

    private static string Value(JsonNode? n, string indent) =>
        n switch
        {
            _ when ListOfObjects(n) => "[\n"
                + string.Join(",\n", n!.AsArray().Select(x => indent + "  " + Inline(x)))
                + $"\n{indent}]",
            JsonObject o when o.Any(kv => ListOfObjects(kv.Value)) => Format(o, indent),
            _ => Inline(n),
        };

    private static string Inline(JsonNode? n) =>
        n switch
        {
            null => "null",
            JsonObject o => "{" + string.Join(", ", o.Select(kv => $"{Inline(kv.Key)}: {Inline(kv.Value)}")) + "}",
            JsonArray a => "[" + string.Join(", ", a.Select(Inline)) + "]",
            _ => n.ToJsonString(Relaxed),
        };

    private static string Inline(string key) => JsonSerializer.Serialize(key, Relaxed);
}
