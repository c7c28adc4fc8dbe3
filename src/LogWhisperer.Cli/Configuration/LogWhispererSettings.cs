namespace LogWhisperer.Cli.Configuration;

// The settings of `engine`, `pull`, `gateway` and `demo`, bound from appsettings.json / --config, LOGWHISPERER_*
// environment variables and command-line options (SettingsLoader). Each property is one setting, declared once
// (Setting): its initializer is the default, its [Description] the documentation and the option's help, and
// [CliOption] names its option; `logwhisperer config reference` prints them all, so docs cannot drift.
// Collections start empty because the binder merges into them (a default list would be appended to).
internal sealed class LogWhispererSettings
{
    public KafkaSection Kafka { get; set; } = new();
    public PullSection Pull { get; set; } = new();
    public EngineSection Engine { get; set; } = new();
    public WindowsSection Windows { get; set; } = new();
    public SinksSection Sinks { get; set; } = new();
    public GatewaySection Gateway { get; set; } = new();
    public DashboardSection Dashboard { get; set; } = new();
    public IncidentsSection Incidents { get; set; } = new();
    public SloSection Slo { get; set; } = new();
    public LoggingSection Logging { get; set; } = new();
    public HostSection Host { get; set; } = new();
}
