using Microsoft.AspNetCore.Http;

namespace LogWhisperer.Cli.Gateway;

/// <summary>The optional shared-secret check of the gateway and the dashboard: "Authorization: Bearer
/// &lt;token&gt;".</summary>
internal static class BearerToken
{
    /// <param name="allowQuery">Also accept ?token= (browsers cannot add headers to a page load or an
    /// EventSource).</param>
    public static bool Allows(HttpContext ctx, string? token, bool allowQuery = false)
    {
        if (token is null)
            return true;
        var header = ctx.Request.Headers.Authorization.ToString();
        if (header.Length == 0 && allowQuery)
            header = "Bearer " + ctx.Request.Query["token"];
        return HttpSecurity.TokenMatches(header, token); // constant time
    }
}
