using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

/// <summary>Paths to what tests share: the repository's topologies and the shipped model.</summary>
internal static class TestData
{
    public static string RepoRoot { get; } = FindRoot();

    public static string TopologyPath(string name) => Path.Combine(RepoRoot, "topologies", name + ".json");

    public static Topology OnlineBoutique() => Topology.Load(TopologyPath("online-boutique"));

    public static string ShippedModel => Path.Combine(AppContext.BaseDirectory, "models", "gat-default.lwm");
    public static string ShippedEdgelessModel => Path.Combine(AppContext.BaseDirectory, "models", "gat-edgeless.lwm");
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "logwhisperer.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LogWhisperer.sln")))
                return dir.FullName;
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    /// <summary>An upper bound for a wait on a condition, never its expected length: on a loaded machine (load average
    /// 30 on 2 cores) starting an engine took minutes.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromMinutes(8);

    /// <summary>How often <see cref="WaitUntil"/> looks again: it only paces the polling, it decides nothing.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds (true) or <paramref name="deadline"/> passes (false; the caller
    /// asserts on what it waited for). The wait for something to happen that no event announces: a line logged by
    /// a child process, a message published, a server ready.
    /// </summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan deadline)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > deadline)
                return false;
            Thread.Sleep(PollInterval);
        }
        return true;
    }

    /// <inheritdoc cref="WaitUntil"/>
    public static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan deadline)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > deadline)
                return false;
            await Task.Delay(PollInterval);
        }
        return true;
    }

    /// <inheritdoc cref="WaitUntil"/>
    public static Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan deadline) =>
        WaitUntilAsync(() => Task.FromResult(condition()), deadline);

    /// <summary>A TCP port free right now on loopback, for a binary that must be told its port.</summary>
    public static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "lw-tests-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Runs a program from the repository root; kills it (and its children) when it outlives the
    /// timeout.</summary>
    public static (int Exit, string Out, string Err) RunProcess(
        string file,
        IEnumerable<string> args,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null
    )
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoRoot,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            psi.Environment[name] = value;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(true);
            throw new TimeoutException(file + " " + string.Join(' ', psi.ArgumentList));
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
