namespace LogWhisperer.Windowing;

/// <summary>
/// The service names a cluster's telemetry has carried so far, to tell a service's own error lines from the
/// ones that report on another service ("rpc error calling ts-route-service", "No instances available for
/// ts-basic-service", a URL with the peer's host). A line that names no other service of the mesh is the
/// service speaking of itself — in real incidents the root's own voice, while its callers report on it.
/// Bounded: names beyond <see cref="MaxNames"/> are not learned (a mesh has hundreds, not tens of thousands).
/// </summary>
internal sealed class ServiceNames
{
    private const int MaxNames = 10_000;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public ServiceNames() => _lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();

    private string? _lastObserved;

    /// <summary>Called per record: the same service's records usually share one string, so most calls stop at the
    /// reference check.</summary>
    public void Observe(string service)
    {
        if (ReferenceEquals(service, _lastObserved))
            return;
        _lastObserved = service;
        if (_names.Count < MaxNames)
            _names.Add(service);
    }

    /// <summary>Whether <paramref name="message"/> names a known service other than <paramref name="self"/>, as a whole
    /// token (letters, digits, '-', '_', '.'), or as the host part of a dotted name (svc.namespace.svc...).</summary>
    public bool NamesAnother(ReadOnlySpan<char> message, string self)
    {
        int i = 0;
        while (i < message.Length)
        {
            while (i < message.Length && !IsNameChar(message[i]))
                i++;
            int start = i;
            while (i < message.Length && IsNameChar(message[i]))
                i++;
            var token = message[start..i];
            if (token.Length == 0)
                continue;
            if (Known(token, self))
                return true;
            int dot = token.IndexOf('.');
            if (dot > 0 && Known(token[..dot], self))
                return true;
        }
        return false;
    }

    private bool Known(ReadOnlySpan<char> token, string self) => !token.SequenceEqual(self) && _lookup.Contains(token);

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';
}
