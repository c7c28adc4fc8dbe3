using System.Collections;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace LogWhisperer.Cli.Configuration;

/// <summary>A setting that is unknown or has an invalid value: the command stops with exit code 2.</summary>
internal sealed class SettingsException(string message) : Exception(message);

/// <summary>
/// Builds <see cref="LogWhispererSettings"/> the .NET way: defaults, then appsettings.json in the current
/// directory (or the file given with --config), then LOGWHISPERER_* environment variables (__ separates
/// sections: LOGWHISPERER_KAFKA__GROUPID), then command-line overrides; later sources win. Every key is
/// checked against the settings types before binding, so a typo is an error naming the key and the valid
/// ones, never a silently ignored setting.
/// </summary>
internal static class SettingsLoader
{
    public const string EnvironmentPrefix = "LOGWHISPERER_";
    public const string DefaultFile = "appsettings.json";

    /// <summary>Environment variables of earlier versions, still honoured: variable → setting key.</summary>
    public static readonly IReadOnlyDictionary<string, string> LegacyVariables = new Dictionary<string, string>
    {
        ["LOGWHISPERER_GATEWAY_TOKEN"] = "Gateway:BearerToken",
    };

    /// <param name="environment">The process environment (a dictionary in tests).</param>
    public static (LogWhispererSettings Settings, IConfiguration Configuration) Load(
        string? configFile,
        IEnumerable<KeyValuePair<string, string?>> overrides,
        IDictionary? environment = null
    )
    {
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            var path = Path.GetFullPath(configFile);
            if (!File.Exists(path))
                throw new SettingsException($"configuration file '{configFile}' not found");
            builder.AddJsonFile(path, optional: false);
        }
        else
            builder.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), DefaultFile), optional: true);
        builder.AddInMemoryCollection(FromEnvironment(environment ?? Environment.GetEnvironmentVariables()));
        builder.AddInMemoryCollection(overrides);

        IConfigurationRoot configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException)
        {
            throw new SettingsException(
                $"configuration file '{configFile ?? DefaultFile}' is not valid JSON: {e.Message}"
            );
        }

        var errors = new List<string>();
        Check(configuration, typeof(LogWhispererSettings), "", errors);
        if (errors.Count > 0)
            throw new SettingsException(string.Join(Environment.NewLine, errors));
        var settings = new LogWhispererSettings();
        configuration.Bind(settings);
        return (settings, configuration);
    }

    /// <summary>LOGWHISPERER_A__B=value → A:B=value (the convention of AddEnvironmentVariables, over a given
    /// environment).</summary>
    private static IEnumerable<KeyValuePair<string, string?>> FromEnvironment(IDictionary environment)
    {
        foreach (DictionaryEntry e in environment)
        {
            var name = (string)e.Key;
            if (LegacyVariables.TryGetValue(name, out var key))
                yield return new(key, (string?)e.Value);
            else if (name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
                yield return new(
                    name[EnvironmentPrefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter),
                    (string?)e.Value
                );
        }
    }

    /// <summary>Every key of <paramref name="section"/> must name a property of <paramref name="type"/>, every value
    /// convert to its type.</summary>
    private static void Check(IConfiguration section, Type type, string path, List<string> errors)
    {
        foreach (var child in section.GetChildren())
        {
            string key = path.Length == 0 ? child.Key : path + ":" + child.Key;
            var property = type.GetProperty(
                child.Key,
                BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase
            );
            if (property is null)
            {
                var valid = string.Join(
                    ", ",
                    type.GetProperties().Select(p => path.Length == 0 ? p.Name : path + ":" + p.Name)
                );
                errors.Add(
                    $"unknown setting '{key}'; valid keys{(path.Length == 0 ? "" : $" under '{path}'")}: {valid}"
                );
                continue;
            }
            CheckValue(child, property.PropertyType, key, errors);
        }
    }

    private static void CheckValue(IConfigurationSection value, Type type, string key, List<string> errors)
    {
        if (DictionaryValueType(type) is { } dictionaryValue)
        {
            foreach (var entry in value.GetChildren())
                CheckValue(entry, dictionaryValue, key + ":" + entry.Key, errors);
            if (value.Value is { Length: > 0 })
                errors.Add($"setting '{key}' is a map (set {key}:NAME), not a single value");
        }
        else if (ListElementType(type) is { } element)
        {
            foreach (var entry in value.GetChildren())
                if (!int.TryParse(entry.Key, out _))
                    errors.Add($"setting '{key}' is a list: its entries are {key}:0, {key}:1, …, not '{entry.Key}'");
                else
                    CheckValue(entry, element, key + ":" + entry.Key, errors);
        }
        else if (IsSection(type))
            Check(value, type, key, errors);
        else if (value.GetChildren().Any())
            errors.Add($"setting '{key}' takes a single value ({Describe(type)}), not a section");
        else if (value.Value is { } text && !Converts(text, type))
            errors.Add($"invalid value '{text}' for setting '{key}': expected {Describe(type)}");
    }

    private static bool Converts(string text, Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (text.Length == 0)
            return !t.IsValueType || Nullable.GetUnderlyingType(type) is not null || t == typeof(string);
        if (t == typeof(string))
            return true;
        if (t.IsEnum)
            return Enum.GetNames(t).Contains(text, StringComparer.OrdinalIgnoreCase);
        if (t == typeof(bool))
            return bool.TryParse(text, out _);
        if (t == typeof(int))
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= 0;
        if (t == typeof(long))
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) && l >= 0;
        if (t == typeof(double))
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                && double.IsFinite(d)
                && d >= 0;
        throw new NotSupportedException($"settings of type {t.Name}");
    }

    /// <summary>What a value must look like, for error messages and the reference.</summary>
    public static string Describe(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (DictionaryValueType(t) is { } v)
            return $"map of name → {Describe(v)}";
        if (ListElementType(t) is { } e)
            return $"list of {Describe(e)}";
        if (t.IsEnum)
            return "one of " + string.Join(", ", Enum.GetNames(t));
        if (t == typeof(bool))
            return "true or false";
        if (t == typeof(int) || t == typeof(long))
            return "a whole number ≥ 0";
        if (t == typeof(double))
            return "a number ≥ 0";
        return "text";
    }

    public static bool IsSection(Type type) =>
        type.IsClass && type != typeof(string) && DictionaryValueType(type) is null && ListElementType(type) is null;

    public static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>)
            ? type.GetGenericArguments()[1]
            : null;

    public static Type? ListElementType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0] : null;
}
