using System.CommandLine;
using Microsoft.Extensions.Configuration;

namespace LogWhisperer.Cli.Configuration;

/// <summary>
/// The option of a setting that has one (<see cref="CliOptionAttribute"/>), the highest-precedence configuration
/// source. Its kind follows the setting's type: a switch for true/false, repeatable NAME=VALUE pairs for a map,
/// repeatable values for a list, else one value.
/// </summary>
internal sealed record SettingOverride(
    Setting Setting,
    Option Option,
    Func<ParseResult, IEnumerable<KeyValuePair<string, string?>>> Read
)
{
    private const string Pair = "NAME=VALUE";

    public static SettingOverride For(Setting setting)
    {
        var declared =
            setting.Option ?? throw new ArgumentException($"setting '{setting.Key}' has no option", nameof(setting));
        if (TakesPairs(setting))
            return Map(setting, declared);
        if (SettingsLoader.ListElementType(setting.Type) is not null)
        {
            var list = Create<string[]>(setting, declared);
            return new(
                setting,
                list,
                p =>
                    (p.GetValue(list) ?? []).Select(
                        (v, i) => new KeyValuePair<string, string?>($"{setting.Key}:{i}", v)
                    )
            );
        }
        if (setting.Type == typeof(bool))
        {
            var flag = Create<bool>(setting, declared);
            return new(setting, flag, p => p.GetValue(flag) ? [new(setting.Key, "true")] : []);
        }
        var value = Create<string?>(setting, declared);
        return new(setting, value, p => p.GetValue(value) is { } v ? [new(setting.OptionKey, v)] : []);
    }

    /// <summary>The option as the reference shows it: --topic NAME=VALUE, --group.</summary>
    public static string Usage(Setting setting) =>
        setting.Option is null ? "" : setting.Option.Name + (TakesPairs(setting) ? " " + Pair : "");

    private static bool TakesPairs(Setting setting) =>
        setting.Option?.Entry is null && SettingsLoader.DictionaryValueType(setting.Type) is not null;

    /// <summary>Repeatable NAME=VALUE pairs into a map setting.</summary>
    private static SettingOverride Map(Setting setting, CliOptionAttribute declared)
    {
        var option = Create<string[]>(setting, declared);
        var values = SettingsLoader.DictionaryValueType(setting.Type)!;
        return new(
            setting,
            option,
            p =>
                (p.GetValue(option) ?? []).Select(pair =>
                {
                    int eq = pair.IndexOf('=');
                    // Not echoed: the value of a librdkafka property may be a password.
                    if (eq <= 0)
                    {
                        throw new SettingsException(
                            $"{declared.Name} takes {Pair} pairs; "
                                + "one of them has no '=' (not shown: it may hold a secret)"
                        );
                    }
                    var value = pair[(eq + 1)..];
                    if (values.IsEnum)
                        value = EnumName(values, value);
                    return new KeyValuePair<string, string?>(setting.Key + ":" + pair[..eq], value);
                })
        );
    }

    /// <summary>
    /// An enum value of a map as users write it on the command line, as the docs name formats: loki-json,
    /// otlp_traces_proto → LokiJson, OtlpTracesProto (unknown names stay as written, for the error).
    /// </summary>
    private static string EnumName(Type type, string value) =>
        Enum.GetNames(type)
            .FirstOrDefault(n =>
                string.Equals(n, value.Replace("-", "").Replace("_", ""), StringComparison.OrdinalIgnoreCase)
            )
        ?? value;

    private static Option<T> Create<T>(Setting setting, CliOptionAttribute declared)
    {
        var option = new Option<T>(declared.Name, declared.Aliases) { Description = Help(setting) };
        if (TakesPairs(setting))
            option.HelpName = Pair;
        return option;
    }

    /// <summary>
    /// The setting's description, what else the option takes, then the key it sets (which carries the unit:
    /// --step sets Pull:StepSeconds) and the default.
    /// </summary>
    private static string Help(Setting setting)
    {
        var help = setting.Description;
        if (TakesPairs(setting) || SettingsLoader.ListElementType(setting.Type) is not null)
            help += " Repeatable.";
        // What one value is: the setting's type, or the type of a map's values (--log-level sets a map entry).
        var value = SettingsLoader.DictionaryValueType(setting.Type) ?? setting.Type;
        value = Nullable.GetUnderlyingType(value) ?? value;
        if (value.IsEnum)
            help += $" {(TakesPairs(setting) ? "VALUE: one" : "One")} of {string.Join(", ", Enum.GetNames(value))}.";
        var @default =
            setting.Option?.Entry is null && setting.Type != typeof(bool)
                ? new SettingValue(setting, setting.ValueIn(new LogWhispererSettings())).Format(maskSecrets: true)
                : null;
        return help
            + (
                @default is null or "(unset)" or "(empty)"
                    ? $" [{setting.OptionKey}]"
                    : $" [{setting.OptionKey}, default {@default}]"
            );
    }
}

/// <summary>
/// The configuration options of a command (--config, --set) plus the options of its settings, and the loading of
/// its settings from them.
/// </summary>
internal sealed class SettingsOptions
{
    private readonly Option<string?> _config = new("--config")
    {
        Description =
            "Settings file (JSON, like appsettings.json; "
            + $"default: {SettingsLoader.DefaultFile} in the current directory, if present)",
    };
    private readonly Option<string[]> _set = new("--set")
    {
        Description =
            "Override any setting, KEY=VALUE, repeatable (e.g. --set Windows:SizeSeconds=60); "
            + "see `logwhisperer config reference`",
    };

    private SettingsOptions(IReadOnlyList<SettingOverride> overrides) => Overrides = overrides;

    public IReadOnlyList<SettingOverride> Overrides { get; }

    /// <summary>The options of the settings whose [CliOption] offers them on <paramref name="command"/>.</summary>
    public static SettingsOptions For(CliCommands command)
    {
        if (command is not (CliCommands.Engine or CliCommands.Pull or CliCommands.Gateway or CliCommands.Demo))
            throw new ArgumentOutOfRangeException(nameof(command), command, "one command");
        var offered = Setting.All.Where(s => s.Option?.Commands.HasFlag(command) == true);
        return new([.. offered.Select(SettingOverride.For)]);
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_config);
        command.Options.Add(_set);
        foreach (var o in Overrides)
            command.Options.Add(o.Option);
    }

    public (LogWhispererSettings Settings, IConfiguration Configuration) Load(ParseResult parse)
    {
        var overrides = (parse.GetValue(_set) ?? [])
            .Select(pair =>
            {
                int eq = pair.IndexOf('=');
                if (eq <= 0)
                    throw new SettingsException($"--set '{pair}' must be written KEY=VALUE");
                return new KeyValuePair<string, string?>(pair[..eq], pair[(eq + 1)..]);
            })
            .ToList();
        foreach (var o in Overrides)
            overrides.AddRange(o.Read(parse)); // dedicated options win over --set
        return SettingsLoader.Load(parse.GetValue(_config), overrides);
    }
}
