using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace LogWhisperer.Cli.Configuration;

/// <summary>One leaf setting of a settings object: its key, type, value and documentation.</summary>
internal sealed record SettingEntry(string Key, PropertyInfo Property, object? Value)
{
    public string Description => Property.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "";
    public bool IsSecret => Property.GetCustomAttribute<SecretAttribute>() is not null;
    public string EnvironmentVariable => SettingsLoader.EnvironmentPrefix + Key.Replace(":", "__").ToUpperInvariant()
        + (SettingsLoader.DictionaryValueType(Property.PropertyType) is not null ? "__NAME" : SettingsLoader.ListElementType(Property.PropertyType) is not null ? "__0" : "");
}

/// <summary>Walks the settings types: the source of both the reference (`config reference`) and the logged effective settings.</summary>
internal static partial class SettingsWalker
{
    public static IEnumerable<SettingEntry> Leaves(object settings, string path = "")
    {
        foreach (var property in settings.GetType().GetProperties())
        {
            string key = path.Length == 0 ? property.Name : path + ":" + property.Name;
            var value = property.GetValue(settings);
            if (SettingsLoader.IsSection(property.PropertyType)) { foreach (var leaf in Leaves(value!, key)) yield return leaf; }
            else yield return new SettingEntry(key, property, value);
        }
    }

    /// <summary>A value as people read it in docs and logs; secrets (and librdkafka values whose key names one) masked.</summary>
    public static string Format(SettingEntry entry, bool maskSecrets)
    {
        if (entry.Value is null) return "(unset)";
        if (maskSecrets && entry.IsSecret) return entry.Value is ICollection { Count: 0 } ? "(empty)" : "***";
        return entry.Value switch
        {
            IDictionary { Count: 0 } or ICollection { Count: 0 } => "(empty)",
            IDictionary d => string.Join(", ", d.Keys.Cast<object>().Select(k => $"{k}={(maskSecrets && SecretName().IsMatch(k.ToString()!) ? "***" : Scalar(d[k]))}")),
            IEnumerable e and not string => string.Join(", ", e.Cast<object>().Select(Scalar)),
            var v => Scalar(v),
        };
    }

    private static string Scalar(object? value) => value switch
    {
        null => "(unset)",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var v => v.ToString()!,
    };

    /// <summary>Map keys whose values are credentials (sasl.password, ssl.key.password, sasl.oauthbearer.client.secret, …).</summary>
    [GeneratedRegex("(?i)pass|secret|key|token|credential|auth")]
    private static partial Regex SecretName();
}
