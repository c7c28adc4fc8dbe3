namespace LogWhisperer.Cli.Configuration;

/// <summary>The commands whose command line can offer a setting's option.</summary>
[Flags]
internal enum CliCommands
{
    /// <summary>`engine`, and `config show`, which shows what the engine would run with.</summary>
    Engine = 1,
    Pull = 2,
    Gateway = 4,
    Demo = 8,

    /// <summary>The commands that run the whole engine: records' identity, model, outputs.</summary>
    Running = Engine | Pull,

    /// <summary>Alert routing: the running commands, and demo.</summary>
    Alerting = Running | Demo,
    All = Alerting | Gateway,
}

/// <summary>
/// The command-line option of a setting: its name, aliases and the commands that offer it. All else about the
/// option comes from the property it marks (<see cref="Setting"/>): the key it sets, its kind (a switch for
/// true/false, repeatable for maps and lists), its help text (the [Description]) and its row in the reference.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class CliOptionAttribute(string name, CliCommands commands, params string[] aliases) : Attribute
{
    public string Name { get; } = name;
    public CliCommands Commands { get; } = commands;
    public string[] Aliases { get; } = aliases;

    /// <summary>For a map setting: the one entry the option sets (--log-level sets Logging:LogLevel:Default).</summary>
    public string? Entry { get; set; }
}
