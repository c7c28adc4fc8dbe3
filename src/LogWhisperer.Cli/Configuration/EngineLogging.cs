using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace LogWhisperer.Cli.Configuration;

/// <summary>
/// Engine diagnostics through Microsoft.Extensions.Logging: one line per entry on stderr (stdout carries RCA
/// events with --print), levels from the Logging:LogLevel settings (default Information).
/// </summary>
internal static class EngineLogging
{
    public static ILoggerFactory Create(IConfiguration configuration) =>
        LoggerFactory.Create(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Information);
            logging.AddConfiguration(configuration.GetSection("Logging"));
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
                o.UseUtcTimestamp = true;
            });
            logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        });

    /// <summary>The effective settings at Debug level, secrets masked: what a run was configured with.</summary>
    public static void LogSettings(ILogger log, LogWhispererSettings settings, params string[] sections)
    {
        if (!log.IsEnabled(LogLevel.Debug))
            return;
        foreach (var value in SettingValue.In(settings))
            if (sections.Any(s => value.Setting.Key.StartsWith(s + ":", StringComparison.Ordinal)))
                log.LogDebug("setting {Key} = {Value}", value.Setting.Key, value.Format(maskSecrets: true));
    }
}
