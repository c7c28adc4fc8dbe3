using System.Globalization;
using System.Text.RegularExpressions;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// CPU time per thread of this process, grouped by thread name (Linux: /proc/self/task), so that a benchmark can say
/// where its CPU went: librdkafka's threads (rdk:main, rdk:broker…), the in-process mock brokers, the .NET thread
/// pool (decode and the consumer loop), the GC. Empty where /proc is missing.
/// </summary>
internal sealed partial class ThreadCpu
{
    private readonly Dictionary<int, (string Name, double Seconds)> _threads;

    private ThreadCpu(Dictionary<int, (string Name, double Seconds)> threads) => _threads = threads;

    public static ThreadCpu Now()
    {
        var threads = new Dictionary<int, (string, double)>();
        if (!Directory.Exists("/proc/self/task"))
            return new ThreadCpu(threads);
        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                string name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                // stat: "tid (comm) state …"; utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on
                // Linux). The name may hold spaces, so count fields after its closing parenthesis.
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                double ticks =
                    long.Parse(fields[11], CultureInfo.InvariantCulture)
                    + long.Parse(fields[12], CultureInfo.InvariantCulture);
                threads[int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture)] = (name, ticks / 100.0);
            }
            catch (IOException) { } // the thread ended while we read it
        }
        return new ThreadCpu(threads);
    }

    /// <summary>CPU-seconds per thread group since <paramref name="start"/>, largest first (threads that ended in
    /// between are not counted).</summary>
    public IEnumerable<(string Group, int Threads, double Seconds)> Since(ThreadCpu start) =>
        _threads
            .Select(t =>
                (
                    Group: Group(t.Value.Name),
                    Seconds: t.Value.Seconds - (start._threads.TryGetValue(t.Key, out var s) ? s.Seconds : 0)
                )
            )
            .GroupBy(t => t.Group)
            .Select(g => (g.Key, g.Count(), g.Sum(t => t.Seconds)))
            .Where(g => g.Item3 > 0)
            .OrderByDescending(g => g.Item3);

    /// <summary>Thread names without their numbers: "rdk:broker12" and "rdk:broker3" are one group.</summary>
    private static string Group(string name) => Digits().Replace(name, "");

    [GeneratedRegex(@"[0-9]+")]
    private static partial Regex Digits();
}
