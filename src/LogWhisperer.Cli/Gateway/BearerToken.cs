using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace LogWhisperer.Cli.Gateway;

/// <summary>The optional shared-secret check of the gateway and the dashboard: "Authorization: Bearer &lt;token&gt;".</summary>
internal static class BearerToken
{
    /// <param name="allowQuery">Also accept ?token= (browsers cannot add headers to a page load or an EventSource).</param>
    public static bool Allows(HttpContext ctx, string? token, bool allowQuery = false)
    {
        if (token is null) return true;
        var presented = ctx.Request.Headers.Authorization.ToString();
        if (presented.StartsWith("Bearer ", StringComparison.Ordinal)) presented = presented["Bearer ".Length..];
        else if (allowQuery) presented = ctx.Request.Query["token"].ToString();
        else return false;
        // Constant time, so response timing does not reveal how much of a guess was right.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(token));
    }
}
