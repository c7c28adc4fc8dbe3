using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Cli.Hosting;

/// <summary>
/// How a long-running command is told to stop. <see cref="Stop"/>: drain (finish what is held, commit, exit 0),
/// on SIGTERM, SIGINT (Ctrl-C) or SIGQUIT. <see cref="Abort"/>: give up now, on a second Ctrl-C or when the
/// drain outlasts the shutdown timeout.
/// </summary>
internal sealed record ServiceLifetime(CancellationToken Stop, CancellationToken Abort);

/// <summary>
/// Runs a long-running command (engine, gateway, pull, demo, kafka-dev, kafka-produce) as the one hosted service
/// of a .NET Generic Host, whose console lifetime turns SIGTERM (docker stop, systemd, Kubernetes), SIGINT and
/// SIGQUIT into a graceful stop bounded by <see cref="HostOptions.ShutdownTimeout"/>. Web servers the command
/// starts (dashboard, gateway) must not register signal handlers of their own (<see cref="EmbeddedLifetime"/>):
/// one process, one owner of its signals.
/// </summary>
internal static class ServiceHost
{
    /// <summary>The exit code of a command aborted (second Ctrl-C, or the shutdown timeout passed): 128 + SIGINT, as
    /// shells report it.</summary>
    public const int AbortedExitCode = 130;

    public static async Task<int> RunAsync(TimeSpan shutdownTimeout, Func<ServiceLifetime, Task<int>> body)
    {
        using var abort = new CancellationTokenSource();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders(); // the commands log through their own factory (EngineLogging)
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddSingleton<IHostLifetime, ConsoleLifetime>();
        var command = new CommandService(body, abort.Token);
        builder.Services.AddSingleton<IHostedService>(command);
        using var host = builder.Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        command.Attach(lifetime);
        // A second Ctrl-C while draining aborts (the console lifetime only ever asks for a stop).
        int presses = 0;
        using var secondCtrlC = PosixSignalRegistration.Create(
            PosixSignal.SIGINT,
            context =>
            {
                if (Interlocked.Increment(ref presses) < 2)
                    return; // the first one is the lifetime's: stop and drain
                context.Cancel = true;
                Console.Error.WriteLine("aborting");
                abort.Cancel();
            }
        );
        using var announce = lifetime.ApplicationStopping.Register(() =>
        {
            if (!command.Finished)
                Console.Error.WriteLine(
                    $"stopping: draining (within {shutdownTimeout.TotalSeconds:0} s; Ctrl-C again to abort)"
                );
        });
        await host.RunAsync();
        if (!command.Finished)
        {
            // The host gave up waiting: the drain outlasted the shutdown timeout.
            Console.Error.WriteLine(
                $"error: shutdown timeout ({shutdownTimeout.TotalSeconds:0} s, "
                    + "--shutdown-timeout) passed before the drain finished: aborting"
            );
            abort.Cancel();
            await Task.WhenAny(command.Completion, Task.Delay(TimeSpan.FromSeconds(5)));
            if (!command.Finished)
                return AbortedExitCode;
        }
        return await command.Completion; // rethrows the command's exception, for CliSupport.Guard
    }

    /// <summary>The command's body as a BackgroundService: it stops the host when it returns by itself (e.g. idle
    /// exit).</summary>
    private sealed class CommandService(Func<ServiceLifetime, Task<int>> body, CancellationToken abort)
        : BackgroundService
    {
        private readonly TaskCompletionSource<int> _completion = new(
            TaskCreationOptions.RunContinuationsAsynchronously
        );
        private IHostApplicationLifetime? _lifetime;

        public Task<int> Completion => _completion.Task;
        public bool Finished => _completion.Task.IsCompleted;

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield(); // the host finishes starting (and its signal handlers are in place) first
            try
            {
                _completion.TrySetResult(await body(new ServiceLifetime(stoppingToken, abort)));
            }
            catch (Exception e)
            {
                _completion.TrySetException(e);
            }
            finally
            {
                _lifetime?.StopApplication();
            }
        }

        public void Attach(IHostApplicationLifetime lifetime) => _lifetime = lifetime;
    }
}

/// <summary>
/// The lifetime of a web server embedded in a command run by <see cref="ServiceHost"/>: it handles no signals
/// (the command's host does, and stops the server as part of its drain).
/// </summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Registers it in a web application's services (before Build).</summary>
    public static void Use(IServiceCollection services) => services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
}
