using Microsoft.AspNetCore.Builder;

namespace LogWhisperer.Cli.Hosting;

/// <summary>Starting a Kestrel server, with a port already taken said in one line that names the setting to
/// change.</summary>
internal static class Listening
{
    /// <param name="setting">The option and setting that choose the address, for the message.</param>
    public static async Task StartAsync(WebApplication app, string listen, string setting)
    {
        try
        {
            await app.StartAsync();
        }
        // Kestrel throws IOException("Failed to bind to address …") around an AddressInUseException.
        catch (Exception e)
            when (e is Microsoft.AspNetCore.Connections.AddressInUseException
                || e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException
            )
        {
            throw new Commands.DependencyUnavailableException(
                $"cannot listen on {listen}: the port is already in use; choose another with {setting}"
            );
        }
    }
}
