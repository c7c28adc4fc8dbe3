namespace LogWhisperer.Features.Logs;

/// <summary>
/// One <see cref="DrainParser"/> per service (services log differently; a shared tree would let one noisy
/// service crowd out another's templates), with one configuration and a state file for stable ids.
/// </summary>
public sealed class TemplateMiner(DrainOptions? options = null)
{
    private readonly Dictionary<string, DrainParser> _parsers = [];

    public DrainOptions Options { get; } = options ?? new DrainOptions();
    public IReadOnlyDictionary<string, DrainParser> Parsers => _parsers;

    public LogTemplateCluster Parse(string service, ReadOnlySpan<char> line, out bool isNew) =>
        ParserFor(service).Parse(line, out isNew);

    public DrainParser ParserFor(string service)
    {
        if (!_parsers.TryGetValue(service, out var p))
            _parsers[service] = p = new DrainParser(Options);
        return p;
    }

    /// <summary>Drops a service's parser (a service gone silent); if it logs again, its templates are numbered
    /// afresh.</summary>
    public void Forget(string service) => _parsers.Remove(service);

    public void Save(string path) => DrainStateFile.Save(path, Options, _parsers);

    public static TemplateMiner Load(string path)
    {
        var (options, parsers) = DrainStateFile.Load(path);
        var miner = new TemplateMiner(options);
        foreach (var (s, p) in parsers)
            miner._parsers[s] = p;
        return miner;
    }
}
