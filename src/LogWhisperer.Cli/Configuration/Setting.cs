using System.ComponentModel;
using System.Linq.Expressions;
using System.Reflection;

namespace LogWhisperer.Cli.Configuration;

/// <summary>
/// One setting, declared once: a property of the settings types (<see cref="LogWhispererSettings"/>), its
/// [Description], [Secret] when it is one and [CliOption] when the command line has an option for it. The key,
/// environment variable, option, help text, reference row and the way errors name the setting all come from it.
/// </summary>
internal sealed class Setting
{
    /// <summary>From LogWhispererSettings through the sections to the property.</summary>
    private readonly PropertyInfo[] _path;

    private Setting(string key, PropertyInfo[] path)
    {
        Key = key;
        _path = path;
        Description = Property.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "";
        IsSecret = Property.GetCustomAttribute<SecretAttribute>() is not null;
        Option = Property.GetCustomAttribute<CliOptionAttribute>();
    }

    /// <summary>Every setting, in the order of the settings types' properties (the reference's order).</summary>
    public static IReadOnlyList<Setting> All { get; } = [.. Walk(typeof(LogWhispererSettings), "", [])];

    // By declaring type and name: a section type used in two places would make one property two settings, which
    // ToDictionary refuses.
    private static readonly Dictionary<(Type, string), Setting> ByProperty = All.ToDictionary(s =>
        (s.Property.DeclaringType!, s.Property.Name)
    );

    /// <summary>Section:Name, as in settings files, --set and error messages.</summary>
    public string Key { get; }
    public PropertyInfo Property => _path[^1];
    public Type Type => Property.PropertyType;
    public string Description { get; }
    public bool IsSecret { get; }

    /// <summary>The command-line option, when there is one.</summary>
    public CliOptionAttribute? Option { get; }

    /// <summary>The key the option sets: the setting's, or a map's <see cref="CliOptionAttribute.Entry"/>.</summary>
    public string OptionKey => Option?.Entry is { } entry ? Key + ":" + entry : Key;

    /// <summary>LOGWHISPERER_SECTION__NAME, with __NAME or __0 for the entries of a map or a list.</summary>
    public string EnvironmentVariable =>
        SettingsLoader.EnvironmentPrefix
        + Key.Replace(":", "__").ToUpperInvariant()
        + (
            SettingsLoader.DictionaryValueType(Type) is not null ? "__NAME"
            : SettingsLoader.ListElementType(Type) is not null ? "__0"
            : ""
        );

    public object? ValueIn(LogWhispererSettings settings) =>
        _path.Aggregate((object?)settings, (section, property) => property.GetValue(section));

    /// <summary>The setting as error messages name it: 'Host:ShutdownTimeoutSeconds' (--shutdown-timeout).</summary>
    public string Named => Option is null ? $"'{Key}'" : $"'{Key}' ({Option.Name})";

    /// <summary>What to change, as a hint says it: --listen (setting Gateway:Listen).</summary>
    public string Hint => Option is null ? $"setting {Key}" : $"{Option.Name} (setting {Key})";

    public SettingsException Invalid(object? value, string expected) =>
        new($"invalid value '{value}' for setting {Named}: expected {expected}");

    /// <summary>A setting without a default that a command needs, with every way of giving it.</summary>
    public SettingsException Required()
    {
        string[] ways = Option is null ? [EnvironmentVariable] : [Option.Name, EnvironmentVariable];
        return new($"setting '{Key}' is required: {string.Join(", ", ways)} or the settings file");
    }

    /// <summary>The setting of a property: <c>Setting.Of((KafkaSection k) => k.BootstrapServers)</c>.</summary>
    public static Setting Of<TSection>(Expression<Func<TSection, object?>> property)
    {
        // A value-typed property is boxed to object: Convert(k.ConnectTimeoutSeconds).
        var body = property.Body is UnaryExpression { NodeType: ExpressionType.Convert } boxed
            ? boxed.Operand
            : property.Body;
        return
            body is MemberExpression { Member: PropertyInfo p, Expression: ParameterExpression }
            && ByProperty.TryGetValue((p.DeclaringType!, p.Name), out var setting)
            ? setting
            : throw new ArgumentException($"{property} does not name a setting", nameof(property));
    }

    private static IEnumerable<Setting> Walk(Type section, string prefix, PropertyInfo[] path)
    {
        foreach (var property in section.GetProperties())
        {
            string key = prefix + property.Name;
            PropertyInfo[] at = [.. path, property];
            if (SettingsLoader.IsSection(property.PropertyType))
            {
                foreach (var setting in Walk(property.PropertyType, key + ":", at))
                    yield return setting;
            }
            else
                yield return new Setting(key, at);
        }
    }
}
