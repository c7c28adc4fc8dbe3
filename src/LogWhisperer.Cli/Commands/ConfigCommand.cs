using System.CommandLine;
using LogWhisperer.Cli.Configuration;
using LogWhisperer.Kafka;

namespace LogWhisperer.Cli.Commands;

/// <summary>`config reference` (every setting with its default, as markdown) and `config show` (the effective settings,
/// secrets masked).</summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var reference = new Command(
            "reference",
            "Print every setting with its type, default, "
                + "environment variable and command-line option (markdown; docs/configuration.md)"
        );
        reference.SetAction(_ =>
        {
            Console.Out.Write(SettingsReference.Markdown());
            return 0;
        });

        var settingsOptions = SettingsOptions.For(CliCommands.Engine);
        var show = new Command(
            "show",
            "Print the effective settings after the settings file, "
                + "LOGWHISPERER_* environment variables and the given overrides (secrets as ***)"
        );
        settingsOptions.AddTo(show);
        show.SetAction(
            (parse, _) =>
                CliSupport.Guard(() =>
                {
                    var (settings, _) = settingsOptions.Load(parse);
                    // As used: no topics configured means the engine reads the defaults, so those are what is shown.
                    if (settings.Kafka.InputTopics.Count == 0)
                        settings.Kafka.InputTopics = new(KafkaSettings.DefaultInputTopics);
                    foreach (var value in SettingValue.In(settings))
                        Console.Out.WriteLine($"{value.Setting.Key} = {value.Format(maskSecrets: true)}");
                    return Task.FromResult(0);
                })
        );
        return new Command("config", "Settings: reference and effective values") { reference, show };
    }
}
