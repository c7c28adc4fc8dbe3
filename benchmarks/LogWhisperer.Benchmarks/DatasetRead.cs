using System.Diagnostics;
using LogWhisperer.Pipeline;
using LogWhisperer.Sources.Datasets;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// `dataset DIR [mapping.json]`: how fast `replay` reads a labelled dataset — CSV parsing and adaptation
/// into records (<see cref="DatasetAdapter.LoadCases"/>), best of 3 after one warm-up, with the bytes
/// allocated per CSV row. DIR is an unpacked export (e.g. Nezha's Train-Ticket tarball).
/// </summary>
public static class DatasetRead
{
    public static int Run(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: dataset DIR [mapping.json]");
            return 2;
        }
        var mappingPath = args.Length > 1 ? args[1] : FindMapping();
        var mapping = DatasetMapping.Load(mappingPath);
        var best = TimeSpan.MaxValue;
        long rows = 0,
            records = 0,
            allocated = 0;
        for (int round = 0; round < 4; round++)
        {
            GC.Collect();
            long before = GC.GetTotalAllocatedBytes(true);
            var clock = Stopwatch.StartNew();
            var adapter = new DatasetAdapter(mapping, args[0], new MemoryDeadLetterSink());
            var cases = adapter.LoadCases();
            var elapsed = clock.Elapsed;
            rows = adapter.RowsRead;
            records = cases.Sum(c => (long)c.Records.Count);
            allocated = GC.GetTotalAllocatedBytes(true) - before;
            if (round > 0 && elapsed < best)
                best = elapsed;
        }
        Console.WriteLine(
            $"dataset read: {rows:N0} CSV rows → {records:N0} records in {best.TotalSeconds:0.000} s (best of 3) "
                + $"= {rows / best.TotalSeconds:N0} rows/s; allocated {allocated / Math.Max(1, rows):N0} B/row"
        );
        return 0;
    }

    private static string FindMapping()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(
                    dir.FullName,
                    "src",
                    "LogWhisperer.Cli",
                    "datasets",
                    "nezha-trainticket.json"
                );
                if (File.Exists(candidate))
                    return candidate;
            }
        throw new FileNotFoundException("nezha-trainticket.json not found; pass the mapping file");
    }
}
