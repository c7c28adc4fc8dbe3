using System.Globalization;

namespace LogWhisperer.Export;

/// <summary>
/// Writes payloads as files in a directory: <c>loki.jsonl</c> and <c>otlp.jsonl</c> hold one request body
/// per line (each line can be POSTed as it is), and <c>metrics/&lt;unix ms&gt;.prom</c> holds one exposition
/// document per scrape (documents cannot be concatenated: each family may appear only once).
/// </summary>
internal sealed class DirectoryPayloadSink : IPayloadSink
{
    public const string LokiFile = "loki.jsonl",
        OtlpFile = "otlp.jsonl",
        MetricsDirectory = "metrics";

    private readonly string _directory;
    private readonly FileStream _logs,
        _traces;

    public DirectoryPayloadSink(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(Path.Combine(directory, MetricsDirectory));
        _logs = Open(LokiFile);
        _traces = Open(OtlpFile);
    }

    private FileStream Open(string name) =>
        new(Path.Combine(_directory, name), FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);

    public async ValueTask WriteAsync(Payload payload, CancellationToken cancellationToken = default)
    {
        switch (payload.Stream)
        {
            case WireStream.Metrics:
                var path = Path.Combine(
                    _directory,
                    MetricsDirectory,
                    payload.TimestampMs.ToString(CultureInfo.InvariantCulture) + ".prom"
                );
                await using (
                    var scrape = new FileStream(
                        path,
                        FileMode.Create,
                        FileAccess.Write,
                        FileShare.Read,
                        1 << 16,
                        useAsync: true
                    )
                )
                    await scrape.WriteAsync(payload.Body, cancellationToken);
                break;
            default:
                var file = payload.Stream == WireStream.Logs ? _logs : _traces;
                await file.WriteAsync(payload.Body, cancellationToken);
                file.WriteByte((byte)'\n');
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _logs.DisposeAsync();
        await _traces.DisposeAsync();
    }
}
