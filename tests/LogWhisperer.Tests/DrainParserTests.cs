using LogWhisperer.Features.Logs;
using LogWhisperer.Sources;

namespace LogWhisperer.Tests;

public class DrainParserTests
{
    [Theory]
    [InlineData("0x1f3a", "<*>")]
    [InlineData("f3d4d4ef-693b-4456-8eed-59c0d717dd08", "<*>")]
    [InlineData("/etc/httpd/conf/workers2.properties", "<*>")]
    [InlineData("blk_-6952295868487656571", "blk_-<*>")]
    [InlineData("rhost=10.0.0.12:8080", "rhost=<*>.<*>.<*>.<*>:<*>")]
    [InlineData("duration=12.5ms", "duration=<*>.<*>ms")]
    [InlineData("terminating", "terminating")]
    public void MasksVariablesButKeepsConstantParts(string token, string masked)
    {
        Assert.Equal(masked, LogTokenizer.MaskedText(token));
        Span<LogTokenizer.Token> t = stackalloc LogTokenizer.Token[4];
        Assert.Equal(1, LogTokenizer.Tokenize(token, t));
        Assert.Equal(LogTokenizer.KeyOf(masked), t[0].Key); // the key can be recomputed from the stored text
    }

    [Fact]
    public void LinesDifferingInVariablesShareATemplateAndOthersDoNot()
    {
        var p = new DrainParser();
        var a = p.Parse("Receiving block blk_123 src: /10.0.0.1:50010 dest: /10.0.0.2:50010");
        var b = p.Parse("Receiving block blk_456 src: /10.0.0.9:50010 dest: /10.0.0.7:50010");
        var c = p.Parse("Deleting block blk_123 file /data/dfs/blk_123");
        Assert.Equal(a.Id, b.Id);
        Assert.NotEqual(a.Id, c.Id);
        Assert.Equal(2, a.Count);
        // Constant words that differ become wildcards once enough of the line agrees (past the routing tokens).
        var d = p.Parse("session opened for alice from gateway");
        var e = p.Parse("session opened for bob from gateway");
        Assert.Equal(d.Id, e.Id);
        Assert.Equal("session opened for <*> from gateway", e.Text);
        // The first tokens route the line (Drain's prefix tree), so a different first word is a different template.
        Assert.NotEqual(d.Id, p.Parse("login opened for bob from gateway").Id);
    }

    [Fact]
    public void TemplateIdsSurviveSaveAndLoad()
    {
        var miner = new TemplateMiner();
        string[] lines = ["GET /api/cart 200 in 12ms", "connection reset by peer 10.1.2.3", "user alice logged in", "user bob logged in", "cache miss for key k1"];
        var ids = lines.Select(l => miner.Parse("cart", l, out _).Id).ToArray();
        int other = miner.Parse("checkout", "payment accepted", out _).Id;
        var path = Path.Combine(TestData.TempDir(), "templates.json");
        miner.Save(path);

        var restored = TemplateMiner.Load(path);
        Assert.Equal(ids, lines.Select(l => restored.Parse("cart", l, out bool isNew).Id).ToArray());
        Assert.Equal(other, restored.Parse("checkout", "payment accepted", out _).Id);
        // New templates continue after the highest id ever given, never reusing one.
        Assert.Equal(ids.Max() + 1, restored.Parse("cart", "a brand new kind of line", out bool created).Id);
        Assert.True(created);
    }

    [Fact]
    public void MemoryIsBoundedByEvictingTheLeastRecentTemplate()
    {
        var p = new DrainParser(new DrainOptions { MaxTemplates = 3 });
        var keep = p.Parse("heartbeat ok");
        for (int i = 0; i < 10; i++)
        {
            p.Parse($"distinct{(char)('a' + i)} event{(char)('a' + i)} kind{(char)('a' + i)}");
            p.Parse("heartbeat ok"); // recently used: survives
        }
        Assert.Equal(3, p.TemplateCount);
        Assert.Equal(8, p.Evicted);
        Assert.Same(keep, p.Template(keep.Id));
        Assert.Equal(12, p.NextId); // ids of evicted templates are not reused
    }

    [Fact]
    public void VeryLongLinesAreCappedAtMaxTokens()
    {
        var p = new DrainParser(new DrainOptions { MaxTokens = 8 });
        var a = p.Parse(string.Join(' ', Enumerable.Range(0, 10_000).Select(i => "word" + (char)('a' + i % 26))));
        var b = p.Parse(string.Join(' ', Enumerable.Range(0, 500).Select(i => "word" + (char)('a' + i % 26))));
        Assert.Equal(8, a.TokenTexts.Count);
        Assert.Equal(a.Id, b.Id); // only the first 8 tokens count
        Assert.Empty(p.Parse("").TokenTexts);
    }

    [Fact]
    public void LogFormatSeparatesHeaderFromContent()
    {
        var f = new LogFormat(@"<Date> <Time> <Level> \[<Process>\] <Component>: <Content>");
        Assert.Equal("Task done: ok", f.Content("2015-10-18 18:01:47,978 INFO [main] org.App: Task done: ok"));
        Assert.Equal("not a header", f.Content("not a header"));
    }

    [Fact]
    public void GroupingAccuracyCountsOnlyExactlyMatchingGroups()
    {
        // Truth A={0,1} B={2,3} C={4}; prediction merges B and C, so only A's two lines count.
        Assert.Equal(0.4, GroupingAccuracy.Compute(["A", "A", "B", "B", "C"], [1, 1, 2, 2, 2]), 6);
        Assert.Equal(1.0, GroupingAccuracy.Compute(["A", "A", "B"], [7, 7, 9]), 6);
        // Splitting a truth group costs all its lines.
        Assert.Equal(1.0 / 3, GroupingAccuracy.Compute(["A", "A", "B"], [1, 2, 3]), 6);
    }

    [Fact]
    public void CsvReaderHandlesQuotesAndEmbeddedNewlines()
    {
        var rows = CsvReader.ReadRows(new StringReader("a,b\r\n1,\"x,\"\"y\"\"\nz\"\n")).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal(["1", "x,\"y\"\nz"], rows[1]);
    }
}
