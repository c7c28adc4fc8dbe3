namespace LogWhisperer.Tests;

/// <summary>`logwhisperer templates` as users run it: mining a file twice with a state file keeps the ids.</summary>
[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public class TemplatesCommandTests
{
    [Fact]
    public void MinesAFileAndKeepsTemplateIdsAcrossRuns()
    {
        var dir = TestData.TempDir();
        var log = Path.Combine(dir, "app.log");
        File.WriteAllLines(
            log,
            Enumerable
                .Range(0, 50)
                .SelectMany(i =>
                    new[]
                    {
                        $"2026-01-01 10:00:{i % 60:D2} INFO Cart: "
                            + $"GetCart completed status=200 duration={i}.5ms trace_id={i:x8}cafe",
                        $"2026-01-01 10:00:{i % 60:D2} WARN Cart: cache miss for user u{i}",
                    }
                )
        );
        string[] args =
        [
            "templates",
            "-i",
            log,
            "--format",
            "<Date> <Time> <Level> <Component>: <Content>",
            "--state",
            Path.Combine(dir, "state.json"),
        ];
        var first = CliTests.Run(args);
        Assert.True(first.Exit == 0, first.Err);
        Assert.Contains("100 line(s), 2 template(s), 2 new this run", first.Err);
        Assert.Contains("GetCart completed status=<*> duration=<*> trace_id=<*>", first.Out);
        var second = CliTests.Run(args);
        Assert.Contains("100 line(s), 2 template(s), 0 new this run", second.Err);
        // Same ids, counts accumulated across runs.
        Assert.Equal(first.Out.Replace("        50  ", "       100  "), second.Out);
    }
}
