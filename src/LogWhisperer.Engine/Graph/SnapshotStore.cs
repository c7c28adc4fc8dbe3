using Apache.Arrow.Ipc;

namespace LogWhisperer.Graph;

/// <summary>
/// Graph snapshots on disk as Arrow IPC files: DIR/&lt;cluster&gt;/&lt;window-start-ms&gt;.nodes.arrow and
/// .edges.arrow. Any Arrow reader (pyarrow, DuckDB, Polars) can open them.
/// </summary>
public static class SnapshotStore
{
    public static void Write(string directory, GraphSnapshot snapshot)
    {
        var dir = Path.Combine(directory, SafeName(snapshot.Cluster));
        Directory.CreateDirectory(dir);
        var stem = Path.Combine(dir, snapshot.WindowStartMs.ToString());
        WriteBatch(stem + ".nodes.arrow", snapshot.Nodes);
        WriteBatch(stem + ".edges.arrow", snapshot.Edges);
    }

    /// <summary>Reads every snapshot under <paramref name="directory"/>, ordered by cluster and window.</summary>
    public static IEnumerable<GraphSnapshot> ReadAll(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"snapshot directory '{directory}' does not exist");
        foreach (
            var nodesPath in Directory
                .EnumerateFiles(directory, "*.nodes.arrow", SearchOption.AllDirectories)
                .Order(StringComparer.Ordinal)
        )
        {
            var edgesPath = nodesPath[..^".nodes.arrow".Length] + ".edges.arrow";
            if (!File.Exists(edgesPath))
                throw new InvalidDataException($"{nodesPath} has no matching {Path.GetFileName(edgesPath)}");
            yield return new GraphSnapshot(ReadBatch(nodesPath), ReadBatch(edgesPath));
        }
    }

    private static void WriteBatch(string path, Apache.Arrow.RecordBatch batch)
    {
        using var stream = File.Create(path);
        using var writer = new ArrowFileWriter(stream, batch.Schema);
        writer.WriteRecordBatch(batch);
        writer.WriteEnd();
    }

    private static Apache.Arrow.RecordBatch ReadBatch(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new ArrowFileReader(stream);
        var batch = reader.ReadNextRecordBatch() ?? throw new InvalidDataException($"{path} holds no record batch");
        // The reader's buffers belong to the stream; clone into managed memory so the file can be closed.
        return batch.Clone();
    }

    private static string SafeName(string cluster) =>
        string.Concat(cluster.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
}
