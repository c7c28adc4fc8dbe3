using System.ComponentModel;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Configuration;

/// <summary>The engine's own diagnostics (see EngineLogging).</summary>
internal sealed class LoggingSection
{
    [Description(
        "Log level per category prefix (Default, LogWhisperer.Sinks, Microsoft, …); Default is Information "
            + "when unset. Logs go to stderr, one line each."
    )]
    [CliOption("--log-level", CliCommands.All, Entry = "Default")]
    public Dictionary<string, LogLevel> LogLevel { get; set; } = [];
}
