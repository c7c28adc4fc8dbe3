using System.Diagnostics;

namespace LogWhisperer.Tests;

/// <summary>`logwhisperer templates` as users run it: mining a file twice with a state file keeps the ids.</summary>
public class TemplatesCommandTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestData.RepoRoot };
        psi.ArgumentList.Add(TestData.CliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException("logwhisperer " + string.Join(' ', args)); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void MinesAFileAndKeepsTemplateIdsAcrossRuns()
    {
        var dir = TestData.TempDir();
        var log = Path.Combine(dir, "app.log");
        File.WriteAllLines(log, Enumerable.Range(0, 50).SelectMany(i => new[]
        {
            $"2026-01-01 10:00:{i % 60:D2} INFO Cart: GetCart completed status=200 duration={i}.5ms trace_id={i:x8}cafe",
            $"2026-01-01 10:00:{i % 60:D2} WARN Cart: cache miss for user u{i}",
        }));
        string[] args = ["templates", "-i", log, "--format", "<Date> <Time> <Level> <Component>: <Content>", "--state", Path.Combine(dir, "state.json")];
        var first = Run(args);
        Assert.True(first.Exit == 0, first.Err);
        Assert.Contains("100 line(s), 2 template(s), 2 new this run", first.Err);
        Assert.Contains("GetCart completed status=<*> duration=<*>.<*>ms", first.Out);
        var second = Run(args);
        Assert.Contains("100 line(s), 2 template(s), 0 new this run", second.Err);
        // Same ids, counts accumulated across runs.
        Assert.Equal(first.Out.Replace("        50  ", "       100  "), second.Out);
    }
}
