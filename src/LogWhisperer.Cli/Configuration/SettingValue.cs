using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;

namespace LogWhisperer.Cli.Configuration;

/// <summary>
/// A setting's value in one settings object, as people read it: the defaults in the reference and in --help, the
/// effective settings in `config show` and the logs.
/// </summary>
internal sealed partial record SettingValue(Setting Setting, object? Value)
{
    public static IEnumerable<SettingValue> In(LogWhispererSettings settings) =>
        Setting.All.Select(s => new SettingValue(s, s.ValueIn(settings)));

    /// <summary>The value as text; secrets (and librdkafka values whose key names one) masked when asked.</summary>
    public string Format(bool maskSecrets)
    {
        if (Value is null)
            return "(unset)";
        if (maskSecrets && Setting.IsSecret)
            return Value is ICollection { Count: 0 } ? "(empty)" : "***";
        return Value switch
        {
            IDictionary { Count: 0 } or ICollection { Count: 0 } => "(empty)",
            IDictionary d => string.Join(
                ", ",
                d.Keys.Cast<object>()
                    .Select(k => $"{k}={(maskSecrets && SecretName().IsMatch(k.ToString()!) ? "***" : Scalar(d[k]))}")
            ),
            IEnumerable e and not string => string.Join(", ", e.Cast<object>().Select(Scalar)),
            var v => Scalar(v),
        };
    }

    private static string Scalar(object? value) =>
        value switch
        {
            null => "(unset)",
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            var v => v.ToString()!,
        };

    /// <summary>
    /// Map keys whose values are credentials (sasl.password, ssl.key.password, sasl.oauthbearer.client.secret, …).
    /// </summary>
    [GeneratedRegex("(?i)pass|secret|key|token|credential|auth")]
    private static partial Regex SecretName();
}
