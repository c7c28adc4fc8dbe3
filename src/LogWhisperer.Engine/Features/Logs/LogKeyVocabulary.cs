namespace LogWhisperer.Features.Logs;

/// <summary>
/// The log keys a sequence model knows: one index per (service, template id) seen in training. Indices
/// 0..3 are reserved (padding, mask, the sequence's summary token, unknown key); a key first seen after
/// training maps to <see cref="Unknown"/> and is described only by its text.
/// </summary>
internal sealed class LogKeyVocabulary
{
    public const int Pad = 0,
        Mask = 1,
        Dist = 2,
        Unknown = 3,
        Reserved = 4;
    private readonly Dictionary<(string Service, int Template), int> _index = [];

    public int Count => Reserved + _index.Count;

    public int Add(string service, int template)
    {
        if (!_index.TryGetValue((service, template), out int i))
            _index[(service, template)] = i = Count;
        return i;
    }

    public int IndexOf(string service, int template) => _index.GetValueOrDefault((service, template), Unknown);

    public IEnumerable<KeyValuePair<(string Service, int Template), int>> Entries => _index;
}
