using System.Text.Json;
using System.Text.Json.Serialization;

namespace LogWhisperer.Simulation;

/// <summary>
/// A microservice mesh as the simulator drives it: services, their operations with latency and the
/// downstream calls each makes, and the request types that enter at the edge. Loaded from the JSON files in
/// topologies/ so that users can read and edit them.
/// </summary>
public sealed class Topology
{
    public required string Name { get; init; }
    public string? Description { get; init; }
    public string? Source { get; init; }

    /// <summary>Mean requests per second entering at the edge (the daily load curve varies around it).</summary>
    public double RequestsPerSecond { get; init; } = 30;

    /// <summary>Mesh-wide outlier detection for every destination (null: none, as in a mesh without a
    /// DestinationRule).</summary>
    public CircuitBreakerSpec? CircuitBreaker { get; init; }
    public required Dictionary<string, ServiceSpec> Services { get; init; }
    public required List<EntryPoint> Entrypoints { get; init; }

    /// <summary>Service names in a fixed order; node ids in graphs follow it.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> ServiceNames =>
        _serviceNames ??= Services.Keys.Order(StringComparer.Ordinal).ToArray();
    private string[]? _serviceNames;

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower), new CallSpecConverter() },
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, // written files hold only what is set
    };

    public static Topology Load(string path)
    {
        Topology topology;
        try
        {
            using var stream = File.OpenRead(path);
            topology =
                JsonSerializer.Deserialize<Topology>(stream, JsonOptions)
                ?? throw new InvalidDataException($"{path}: empty topology file");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        topology.Validate(path);
        return topology;
    }

    public static Topology Parse(string json, string origin = "<string>")
    {
        var topology =
            JsonSerializer.Deserialize<Topology>(json, JsonOptions)
            ?? throw new InvalidDataException($"{origin}: empty topology");
        topology.Validate(origin);
        return topology;
    }

    /// <summary>Every call must name an existing service/operation, and the call graph must be acyclic.</summary>
    public void Validate(string origin)
    {
        if (Services.Count == 0)
            throw new InvalidDataException($"{origin}: no services");
        if (Entrypoints.Count == 0)
            throw new InvalidDataException($"{origin}: no entrypoints");
        CheckBreaker(CircuitBreaker, origin);
        foreach (var (name, service) in Services)
            CheckBreaker(service.CircuitBreaker, $"{origin}: service '{name}'");
        foreach (var (name, service) in Services)
        {
            if (service.Operations.Count == 0)
                throw new InvalidDataException($"{origin}: service '{name}' has no operations");
            foreach (var (opName, op) in service.Operations)
            foreach (var call in op.Calls)
                Resolve(call.To, $"{origin}: {name}/{opName}");
        }
        foreach (var entry in Entrypoints)
            Resolve(entry.Operation, $"{origin}: entrypoint");
        var state = new Dictionary<string, int>();
        foreach (var (name, service) in Services)
        foreach (var opName in service.Operations.Keys)
            CheckAcyclic($"{name}/{opName}", state, origin);
    }

    private static void CheckBreaker(CircuitBreakerSpec? breaker, string origin)
    {
        if (breaker is null)
            return;
        if (breaker.ConsecutiveFailures < 1)
            throw new InvalidDataException($"{origin}: circuitBreaker.consecutiveFailures must be at least 1");
        if (!(breaker.OpenMs > 0))
            throw new InvalidDataException($"{origin}: circuitBreaker.openMs must be positive");
    }

    public (string Service, string Operation, OperationSpec Spec) Resolve(string reference, string context = "")
    {
        int slash = reference.IndexOf('/');
        if (slash <= 0)
            throw new InvalidDataException($"{context}: call '{reference}' is not of the form service/operation");
        var service = reference[..slash];
        var operation = reference[(slash + 1)..];
        if (!Services.TryGetValue(service, out var spec))
            throw new InvalidDataException($"{context}: unknown service '{service}' in '{reference}'");
        if (!spec.Operations.TryGetValue(operation, out var op))
            throw new InvalidDataException($"{context}: service '{service}' has no operation '{operation}'");
        return (service, operation, op);
    }

    private void CheckAcyclic(string reference, Dictionary<string, int> state, string origin)
    {
        if (state.TryGetValue(reference, out var s))
        {
            if (s == 1)
                throw new InvalidDataException($"{origin}: call cycle through '{reference}'");
            return;
        }
        state[reference] = 1;
        foreach (var call in Resolve(reference).Spec.Calls)
            CheckAcyclic(call.To, state, origin);
        state[reference] = 2;
    }

    /// <summary>Static call edges (caller → callee) declared by the file, deduplicated.</summary>
    public IEnumerable<(string From, string To)> DeclaredEdges() =>
        Services
            .SelectMany(s =>
                s.Value.Operations.Values.SelectMany(o => o.Calls)
                    .Select(c => (From: s.Key, To: c.To[..c.To.IndexOf('/')]))
            )
            .Distinct();

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}

public enum ServiceKind
{
    Service,
    Web,
    Database,
    Cache,
    Queue,
}

public sealed class ServiceSpec
{
    public ServiceKind Kind { get; init; } = ServiceKind.Service;
    public string? Language { get; init; }

    /// <summary>CPU time one request costs this service, in milliseconds.</summary>
    public double CpuPerRequestMs { get; init; } = 2;
    public double MemoryMb { get; init; } = 128;
    public double MemoryLimitMb { get; init; } = 512;

    /// <summary>Outlier detection for calls to this service; overrides the topology's.</summary>
    public CircuitBreakerSpec? CircuitBreaker { get; init; }
    public required Dictionary<string, OperationSpec> Operations { get; init; }
}

/// <summary>
/// A caller-side circuit breaker as a mesh applies it (Istio outlier detection with consecutiveGatewayErrors):
/// after <see cref="ConsecutiveFailures"/> calls in a row end in a connection failure, 503 or timeout, the
/// destination is ejected and calls fail fast for
/// <see cref="OpenMs"/>; the first call after that is a probe that closes the circuit or opens it again.
/// </summary>
public sealed class CircuitBreakerSpec
{
    public int ConsecutiveFailures { get; init; } = 5;
    public double OpenMs { get; init; } = 10_000;
}

public sealed class OperationSpec
{
    /// <summary>Median time spent in the service itself (excluding downstream calls).</summary>
    public double LatencyMs { get; init; } = 2;

    /// <summary>Spread of the log-normal self time (sigma of the log).</summary>
    public double Jitter { get; init; } = 0.35;
    public List<CallSpec> Calls { get; init; } = [];
}

/// <summary>A downstream call. In files either "service/operation" or an object with options.</summary>
public sealed class CallSpec
{
    public required string To { get; init; }

    /// <summary>Probability that a request makes this call.</summary>
    public double Probability { get; init; } = 1;

    /// <summary>An optional call's failure is logged and tolerated (the caller degrades, not fails).</summary>
    public bool Optional { get; init; }
    public double TimeoutMs { get; init; } = 1000;

    /// <summary>Retries on connection failure or timeout, as a mesh retry policy would.</summary>
    public int Retries { get; init; } = 1;
}

public sealed class EntryPoint
{
    public required string Operation { get; init; }
    public double Weight { get; init; } = 1;
}

internal sealed class CallSpecConverter : JsonConverter<CallSpec>
{
    public override CallSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
            return new CallSpec { To = reader.GetString()! };
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException("a call is \"service/operation\" or an object with \"to\"");
        string? to = null;
        double probability = 1,
            timeout = 1000;
        bool optional = false;
        int retries = 1;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var property = reader.GetString();
            reader.Read();
            switch (property)
            {
                case "to":
                    to = reader.GetString();
                    break;
                case "probability":
                    probability = reader.GetDouble();
                    break;
                case "optional":
                    optional = reader.GetBoolean();
                    break;
                case "timeoutMs":
                    timeout = reader.GetDouble();
                    break;
                case "retries":
                    retries = reader.GetInt32();
                    break;
                default:
                    throw new JsonException($"unknown call property '{property}'");
            }
        }
        return new CallSpec
        {
            To = to ?? throw new JsonException("call without \"to\""),
            Probability = probability,
            Optional = optional,
            TimeoutMs = timeout,
            Retries = retries,
        };
    }

    public override void Write(Utf8JsonWriter writer, CallSpec value, JsonSerializerOptions options)
    {
        if (value is { Probability: 1, Optional: false, TimeoutMs: 1000, Retries: 1 })
        {
            writer.WriteStringValue(value.To);
            return;
        }
        writer.WriteStartObject();
        writer.WriteString("to", value.To);
        if (value.Probability != 1)
            writer.WriteNumber("probability", value.Probability);
        if (value.Optional)
            writer.WriteBoolean("optional", true);
        if (value.TimeoutMs != 1000)
            writer.WriteNumber("timeoutMs", value.TimeoutMs);
        if (value.Retries != 1)
            writer.WriteNumber("retries", value.Retries);
        writer.WriteEndObject();
    }
}
