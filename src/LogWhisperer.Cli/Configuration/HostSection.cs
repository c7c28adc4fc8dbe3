using System.ComponentModel;

namespace LogWhisperer.Cli.Configuration;

/// <summary>The process: how `engine`, `pull`, `gateway` and `demo` stop.</summary>
internal sealed class HostSection
{
    [Description(
        "On SIGTERM or Ctrl-C, drain (finish open work, commit offsets, stop the web servers) for at most "
            + "this long, then abort (exit 130)."
    )]
    [CliOption("--shutdown-timeout", CliCommands.All)]
    public double ShutdownTimeoutSeconds { get; set; } = 30;
}
