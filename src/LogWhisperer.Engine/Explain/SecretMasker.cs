using System.Text.RegularExpressions;

namespace LogWhisperer.Explain;

/// <summary>Removes what must never leave the engine inside an explanation: credentials, tokens, keys, e-mail
/// addresses.</summary>
internal static partial class SecretMasker
{
    [GeneratedRegex(
        @"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|authorization)\b(\s*[=:]\s*|\s+)(bearer\s+|basic\s+)?['""]?[^\s,;&""']+"
    )]
    private static partial Regex KeyValue();

    // Compound keys (aws_secret_access_key, client_secret, db.password, AccountKey in connection strings): only with =
    // or :, so ordinary words that merely contain "secret" or "key" are left alone.
    [GeneratedRegex(
        @"(?i)\b([\w.-]*(?:secret|password|passwd|accountkey|access_?key|private_?key)[\w.-]*)(\s*[=:]\s*)['""]?[^\s,;&""']+"
    )]
    private static partial Regex CompoundKeyValue();

    [GeneratedRegex(@"(?i)\bbearer\s+[a-z0-9._~+/=-]{8,}")]
    private static partial Regex Bearer();

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")]
    private static partial Regex Email();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")]
    private static partial Regex Jwt();

    /// <summary>AWS access key ids (long-term AKIA…, temporary ASIA…).</summary>
    [GeneratedRegex(@"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")]
    private static partial Regex AwsAccessKey();

    /// <summary>The password in a URL's user info: scheme://user:password@host.</summary>
    [GeneratedRegex(@"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]+@")]
    private static partial Regex UrlPassword();

    public static string Mask(string text)
    {
        text = Jwt().Replace(text, "<jwt>");
        text = UrlPassword().Replace(text, "$1:<redacted>@");
        text = AwsAccessKey().Replace(text, "<aws-access-key>");
        text = CompoundKeyValue().Replace(text, m => m.Groups[1].Value + m.Groups[2].Value + "<redacted>");
        text = KeyValue().Replace(text, m => m.Groups[1].Value + m.Groups[2].Value + "<redacted>");
        text = Bearer().Replace(text, "Bearer <redacted>");
        return Email().Replace(text, "<email>");
    }
}
