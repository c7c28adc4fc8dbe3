using System.Collections;
using System.CommandLine;
using System.ComponentModel;
using System.Reflection;
using LogWhisperer.Cli.Commands;
using LogWhisperer.Cli.Configuration;

namespace LogWhisperer.Tests;

/// <summary>
/// A setting is declared once, as a property of the settings types: its environment variable, its option (name,
/// aliases, help), its reference row and the way errors name it all come from that declaration, and work.
/// </summary>
public class SettingDeclarationTests
{
    private static readonly CliCommands[] Commands =
    [
        CliCommands.Engine,
        CliCommands.Pull,
        CliCommands.Gateway,
        CliCommands.Demo,
    ];

    /// <summary>The keys of the settings types' leaves, walked independently of <see cref="Setting.All"/>.</summary>
    private static IEnumerable<string> Keys(Type section, string prefix = "")
    {
        foreach (var property in section.GetProperties())
        {
            if (!SettingsLoader.IsSection(property.PropertyType))
                yield return prefix + property.Name;
            else
                foreach (var key in Keys(property.PropertyType, prefix + property.Name + ":"))
                    yield return key;
        }
    }

    private static bool IsMap(Setting s) => SettingsLoader.DictionaryValueType(s.Type) is not null;

    private static bool IsList(Setting s) => SettingsLoader.ListElementType(s.Type) is not null;

    /// <summary>A valid value of the setting, or of one of its entries.</summary>
    private static string Sample(Setting setting)
    {
        var type =
            SettingsLoader.DictionaryValueType(setting.Type)
            ?? SettingsLoader.ListElementType(setting.Type)
            ?? setting.Type;
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum)
            return Enum.GetNames(type)[^1];
        return type == typeof(bool) ? "true"
            : type == typeof(string) ? "sample"
            : "7";
    }

    private static string Shown(Setting setting, LogWhispererSettings settings) =>
        new SettingValue(setting, setting.ValueIn(settings)).Format(maskSecrets: false);

    [Fact]
    public void EveryPropertyIsASettingWithAWorkingEnvironmentVariableAndAReferenceRow()
    {
        Assert.Equal(Keys(typeof(LogWhispererSettings)), Setting.All.Select(s => s.Key));
        var reference = SettingsReference.Markdown().Split('\n');
        foreach (var setting in Setting.All)
        {
            // The variable, spelled by the documented convention, sets this very property.
            var variable = "LOGWHISPERER_" + setting.Key.Replace(":", "__").ToUpperInvariant();
            var entry =
                IsMap(setting) ? "__ENTRY"
                : IsList(setting) ? "__0"
                : "";
            var (loaded, _) = SettingsLoader.Load(null, [], new Hashtable { [variable + entry] = Sample(setting) });
            Assert.Equal((IsMap(setting) ? "ENTRY=" : "") + Sample(setting), Shown(setting, loaded));

            // Its row: the variable as documented (NAME for a map's entries), the option, the description.
            var row = reference
                .Single(l => l.StartsWith($"| `{setting.Key}` |", StringComparison.Ordinal))
                .Split(" | ");
            Assert.Equal($"`{variable}{(IsMap(setting) ? "__NAME" : entry)}`", row[3]);
            var pairs = IsMap(setting) && setting.Option?.Entry is null ? " NAME=VALUE" : "";
            var option = setting.Option is null ? "" : setting.Option.Name + pairs;
            Assert.Equal(option.Length == 0 ? "" : $"`{option}`", row[4].Trim());
            var description =
                setting.Property.GetCustomAttribute<DescriptionAttribute>()!.Description
                + (setting.Property.GetCustomAttribute<SecretAttribute>() is null ? "" : " **Secret.**");
            Assert.Equal(description.Replace("|", "\\|").Replace("<", "&lt;").Replace(">", "&gt;") + " |", row[5]);
        }
    }

    [Fact]
    public void EveryDeclaredOptionSetsItsSettingOnTheCommandsThatOfferIt()
    {
        var declared = Setting.All.Where(s => s.Option is not null).ToList();
        Assert.NotEmpty(declared);
        foreach (var setting in declared)
        {
            var option = setting.Option!;
            Assert.True(Commands.Any(c => option.Commands.HasFlag(c)), $"{setting.Key}: {option.Name} offered nowhere");
            Assert.True(option.Entry is null || IsMap(setting), $"{setting.Key}: an entry of what is not a map");
            var pairs = IsMap(setting) && option.Entry is null;
            string[] values = setting.Type == typeof(bool) ? [] : [(pairs ? "ENTRY=" : "") + Sample(setting)];
            var shown = (IsMap(setting) ? (option.Entry ?? "ENTRY") + "=" : "") + Sample(setting);
            foreach (var command in Commands.Where(c => option.Commands.HasFlag(c)))
            {
                var options = SettingsOptions.For(command);
                // The help is the declaration's description.
                var help = options.Overrides.Single(o => o.Setting == setting).Option.Description;
                Assert.StartsWith(setting.Description, help);
                foreach (var name in option.Aliases.Prepend(option.Name))
                {
                    var probe = new Command("probe");
                    options.AddTo(probe);
                    var parse = probe.Parse([name, .. values]);
                    Assert.Empty(parse.Errors);
                    Assert.Equal(shown, Shown(setting, options.Load(parse).Settings));
                }
            }
        }
        // One name, one setting: no option name or alias is declared twice.
        var names = declared.SelectMany(s => s.Option!.Aliases.Prepend(s.Option.Name)).ToList();
        Assert.Equal(names.Distinct().Count(), names.Count);
    }

    [Fact]
    public void EveryOptionOfTheSettingsCommandsIsADeclaredSetting()
    {
        static string Names(Option o) => string.Join(" ", o.Aliases.Prepend(o.Name).Order());
        var show = ConfigCommand.Create().Subcommands.Single(c => c.Name == "show");
        (Command, CliCommands)[] commands =
        [
            (KafkaCommands.Engine(), CliCommands.Engine),
            (show, CliCommands.Engine),
            (PullCommand.Create(), CliCommands.Pull),
            (GatewayCommand.Create(), CliCommands.Gateway),
        ];
        foreach (var (command, offered) in commands)
        {
            var declared = Setting
                .All.Where(s => s.Option?.Commands.HasFlag(offered) == true)
                .Select(s => string.Join(" ", s.Option!.Aliases.Prepend(s.Option.Name).Order()));
            Assert.Equal(declared.Concat(["--config", "--set"]).Order(), command.Options.Select(Names).Order());
        }
        // demo has options of its own beside the settings': every setting it offers is there, under its names.
        var demo = DemoCommand.Create();
        foreach (var setting in Setting.All.Where(s => s.Option?.Commands.HasFlag(CliCommands.Demo) == true))
            Assert.Equal(setting.Option!.Aliases, demo.Options.Single(o => o.Name == setting.Option.Name).Aliases);
    }

    [Fact]
    public void ErrorsNameTheSettingAsDeclared()
    {
        Assert.Equal(
            "setting 'Kafka:BootstrapServers' is required: "
                + "--bootstrap, LOGWHISPERER_KAFKA__BOOTSTRAPSERVERS or the settings file",
            Assert.Throws<SettingsException>(() => new KafkaSection().ToKafkaSettings()).Message
        );
        Assert.Equal(
            "invalid value '0' for setting 'Host:ShutdownTimeoutSeconds' (--shutdown-timeout): "
                + "expected a number of seconds > 0",
            Assert
                .Throws<SettingsException>(() => new HostSection { ShutdownTimeoutSeconds = 0 }.ShutdownTimeout())
                .Message
        );
        // Without an option, the key alone.
        Assert.Equal("'Engine:IncidentThreshold'", Setting.Of((EngineSection e) => e.IncidentThreshold).Named);
        Assert.Equal("--listen (setting Gateway:Listen)", Setting.Of((GatewaySection g) => g.Listen).Hint);
        Assert.Same(
            Setting.All.Single(s => s.Key == "Kafka:ConnectTimeoutSeconds"),
            Setting.Of((KafkaSection k) => k.ConnectTimeoutSeconds)
        );
        // A property of a property is no setting.
        Assert.Throws<ArgumentException>(() => Setting.Of((KafkaSection k) => k.BootstrapServers!.Length));
    }
}
