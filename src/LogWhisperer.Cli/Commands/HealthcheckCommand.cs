using System.CommandLine;

namespace LogWhisperer.Cli.Commands;

/// <summary>
/// `healthcheck URL`: GETs a probe (/healthz, /readyz) and exits 0 when it answers 2xx, 3 otherwise — for
/// container HEALTHCHECKs and compose healthchecks, since the runtime image has no curl or wget.
/// </summary>
internal static class HealthcheckCommand
{
    public static Command Create()
    {
        var url = new Argument<string>("url") { Description = "The probe to ask, e.g. http://127.0.0.1:9464/readyz" };
        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds to wait for the answer",
            DefaultValueFactory = _ => 5,
        }.Within(0.1);
        var command = new Command(
            "healthcheck",
            "Ask a /healthz or /readyz probe: exit 0 when it answers 2xx, 3 otherwise (for container healthchecks)"
        )
        {
            url,
            timeout,
        };
        command.SetAction(
            (parse, ct) =>
                CliSupport.Guard(async () =>
                {
                    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)) };
                    if (
                        !Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var target)
                        || target.Scheme is not ("http" or "https")
                    )
                        throw new ArgumentException($"'{parse.GetValue(url)}' is not an http:// or https:// URL");
                    try
                    {
                        using var response = await http.GetAsync(target, ct);
                        var body = (await response.Content.ReadAsStringAsync(ct)).Trim();
                        if (response.IsSuccessStatusCode)
                        {
                            Console.WriteLine(body.Length > 0 ? body : "ok");
                            return ExitCodes.Ok;
                        }
                        Console.Error.WriteLine($"{target}: {(int)response.StatusCode} {body}");
                        return ExitCodes.DependencyUnavailable;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        Console.Error.WriteLine($"{target}: no answer ({e.Message})");
                        return ExitCodes.DependencyUnavailable;
                    }
                })
        );
        return command;
    }
}
