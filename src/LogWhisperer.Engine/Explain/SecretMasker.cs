using System.Text.RegularExpressions;

namespace LogWhisperer.Explain;

/// <summary>Removes what must never leave the engine inside an explanation: credentials, tokens, e-mail addresses.</summary>
public static partial class SecretMasker
{
    [GeneratedRegex(@"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|authorization)\b(\s*[=:]\s*|\s+)(bearer\s+|basic\s+)?[^\s,;&""']+")]
    private static partial Regex KeyValue();

    [GeneratedRegex(@"(?i)\bbearer\s+[a-z0-9._~+/=-]{8,}")]
    private static partial Regex Bearer();

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")]
    private static partial Regex Email();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")]
    private static partial Regex Jwt();

    public static string Mask(string text)
    {
        text = Jwt().Replace(text, "<jwt>");
        text = KeyValue().Replace(text, m => m.Groups[1].Value + m.Groups[2].Value + "<redacted>");
        text = Bearer().Replace(text, "Bearer <redacted>");
        return Email().Replace(text, "<email>");
    }
}
