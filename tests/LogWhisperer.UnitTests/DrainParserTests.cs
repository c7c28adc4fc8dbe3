using LogWhisperer.Features.Logs;
using LogWhisperer.Sources;

namespace LogWhisperer.Tests;

public class DrainParserTests
{
    [Theory]
    [InlineData("0x1f3a", "<*>")] // hex
    [InlineData("f3d4d4ef-693b-4456-8eed-59c0d717dd08", "<*>")] // UUID
    [InlineData("deadbeef00", "<*>")] // long hex id
    [InlineData("/etc/httpd/conf/workers2.properties", "<*>")] // path
    [InlineData("/10.251.73.220:50010", "<*>")]
    [InlineData(@"C:\Windows\winsxs\pending.xml", "<*>")]
    [InlineData("https://example.com/a?b=1", "<*>")] // URL
    [InlineData("10.0.0.12:8080", "<*>")] // IP and port
    [InlineData("www.example.com:443", "<*>")] // endpoint
    [InlineData("12.5ms", "<*>")] // number with unit, duration
    [InlineData("3.2GB", "<*>")]
    [InlineData("-42", "<*>")]
    [InlineData("2017-12-23", "<*>")] // date
    [InlineData("22:15:29.606", "<*>")] // time
    [InlineData("Sat", "<*>")] // day and month names of a timestamp
    [InlineData("Jun", "<*>")]
    [InlineData("'sparkExecutorActorSystem'", "<*>")] // quoted string
    [InlineData("10.0.0.1,", "<*>,")] // sentence punctuation after a variable stays
    [InlineData("rhost=10.0.0.12", "rhost=<*>")] // key=value: the key stays
    [InlineData("tty=ssh", "tty=<*>")]
    [InlineData("ruser=", "ruser=")] // an empty value stays empty
    [InlineData("blk_-6952295868487656571", "blk_<*>")] // a number inside a word, with its sign
    [InlineData("attempt_1445144423722_0020_m_000002_0", "attempt_<*>_<*>_m_<*>_<*>")]
    [InlineData("onExtend:1514038530000", "onExtend:<*>")]
    [InlineData("v1.2.3-beta", "v<*>-beta")] // separators between digits belong to the number
    [InlineData("ssh2", "ssh<*>")]
    [InlineData("terminating", "terminating")]
    [InlineData("SCREEN_ON", "SCREEN_ON")]
    [InlineData("Monday", "Monday")]
    [InlineData("src:", "src:")] // a final colon is sentence punctuation (the fast path takes it)
    [InlineData("Jun,", "<*>,")] // a calendar word with punctuation is still a variable
    [InlineData("status=200", "status=<*>")] // key=value on the fast path
    [InlineData("trace_id=78d07ad529cdd95a03aa5d23bfa33d93", "trace_id=<*>")]
    [InlineData("=x", "=x")] // no key: not a key=value
    [InlineData("a:b", "a:b")]
    public void MasksVariablesButKeepsConstantParts(string token, string masked)
    {
        Assert.Equal(masked, LogTokenizer.MaskedText(token));
        Span<LogTokenizer.Token> t = stackalloc LogTokenizer.Token[4];
        Assert.Equal(1, LogTokenizer.Tokenize(token, t));
        Assert.Equal(LogTokenizer.KeyOf(masked), t[0].Key); // the key can be recomputed from the stored text
        Assert.Equal(masked != token, t[0].Masked);
    }

    [Fact]
    public void StackFramesOfAMultiLineRecordDoNotSplitItsTemplate()
    {
        var p = new DrainParser();
        var shallow = p.Parse(
            "Request failed for order 42\njava.lang.IllegalStateException: "
                + "stock is negative\n\tat com.shop.Stock.take(Stock.java:88)\n\tat "
                + "com.shop.OrderService.place(OrderService.java:41)\n\t... 12 more"
        );
        var deep = p.Parse(
            "Request failed for order 7\njava.lang.IllegalStateException: "
                + "stock is negative\n\tat com.shop.Stock.reserve(Stock.java:120)\n\tat com.shop.Cart.checkout(Cart.java:17)\n\tat "
                + "com.shop.Api.post(Api.java:9)\n\tat java.base/java.lang.Thread.run(Thread.java:833)\n\t... "
                + "3 common frames omitted"
        );
        var other = p.Parse(
            "Request failed for order 9\njava.lang.NullPointerException: "
                + "stock is null\n\tat com.shop.Stock.take(Stock.java:88)"
        );
        Assert.Equal(shallow.Id, deep.Id); // the depth and the frames of a trace are not the event
        Assert.NotEqual(shallow.Id, other.Id); // the exception is
        var caused = p.Parse(
            "Request failed for order 8\njava.lang.IllegalStateException: "
                + "stock is negative\n\tat com.shop.Stock.take(Stock.java:88)\nCaused by: "
                + "java.io.IOException: disk full\n\tat java.io.File.write(File.java:1)"
        );
        Assert.NotEqual(shallow.Id, caused.Id); // and so is its cause
        Assert.DoesNotContain(shallow.Template.Tokens, t => t.Contains("Stock.java", StringComparison.Ordinal));
        Assert.Contains("java.lang.IllegalStateException:", shallow.Template.Tokens);

        // .NET and Python traces; "at" starting prose is no frame, and the first line is never dropped.
        var dotnet1 = p.Parse(
            "Unhandled exception. System.InvalidOperationException: "
                + "queue closed\n   at Shop.Queue.Push(Item i) in /src/Queue.cs:line 31\n   at Shop.Program.Main()"
        );
        var dotnet2 = p.Parse(
            "Unhandled exception. System.InvalidOperationException: "
                + "queue closed\n   at Shop.Worker.Run() in /src/Worker.cs:line 5"
        );
        Assert.Equal(dotnet1.Id, dotnet2.Id);
        var py1 = p.Parse(
            "Traceback (most recent call last):\n  File \"/app/main.py\", line 3, "
                + "in <module>\n    run()\n  File \"/app/run.py\", line 9, "
                + "in run\n    1/0\nZeroDivisionError: division by zero"
        );
        var py2 = p.Parse(
            "Traceback (most recent call last):\n  File \"/app/main.py\", "
                + "line 3, in <module>\n    run()\nZeroDivisionError: division by zero"
        );
        Assert.Equal(py1.Id, py2.Id);
        Assert.Contains("ZeroDivisionError:", py1.Template.Tokens);
        var prose = p.Parse("retry budget spent\nat least 3 attempts failed");
        Assert.Contains("least", prose.Template.Tokens);
        var first = p.Parse("at com.shop.Stock.take(Stock.java:88) is where it failed");
        Assert.Contains("at", first.Template.Tokens);
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

    [Theory]
    [InlineData("bytes", true)]
    [InlineData("RUNNING", true)]
    [InlineData("Failed", true)]
    [InlineData("failures;", true)]
    [InlineData("SCREEN_ON", false)]
    [InlineData("WindowsUpdateAgent", false)]
    [InlineData("com.apple.cts", false)]
    [InlineData("ssh2", false)]
    public void PlainWordsAreLettersOfASentence(string token, bool word) =>
        Assert.Equal(word, LogTokenizer.IsPlainWord(token));

    [Fact]
    public void TemplateTextShowsADigitInsideAWordUntilALineDiffers()
    {
        var p = new DrainParser();
        var t = p.Parse("Failed password for root from 10.0.0.1 port 22 ssh2");
        p.Parse("Failed password for root from 10.0.0.2 port 23 ssh2");
        Assert.Equal("Failed password for root from <*> port <*> ssh2", t.Text);
        p.Parse("Failed password for root from 10.0.0.2 port 23 ssh1");
        Assert.Equal("Failed password for root from <*> port <*> ssh<*>", t.Text);
    }

    [Fact]
    public void ALineMayGeneraliseOnlyOneConstantWord()
    {
        var p = new DrainParser();
        // One word differs: a variable (a user name).
        var a = p.Parse("Invalid user admin from 10.0.0.1 port 22");
        Assert.Equal(a.Id, p.Parse("Invalid user oracle from 10.0.0.2 port 22").Id);
        Assert.Equal("Invalid user <*> from <*> port <*>", a.Text);
        // Two state words differ at once: different events sharing a sentence.
        var b = p.Parse("task_1 Task Transitioned from NEW to SCHEDULED");
        var c = p.Parse("task_1 Task Transitioned from SCHEDULED to RUNNING");
        Assert.NotEqual(b.Id, c.Id);
        Assert.Equal(b.Id, p.Parse("task_2 Task Transitioned from NEW to SCHEDULED").Id);
    }

    [Fact]
    public void LinesWhoseLengthVariesWithAListKeepTheirTemplatesId()
    {
        var p = new DrainParser();
        var one = p.Parse("BLOCK* ask 10.0.0.1:50010 to delete blk_-123");
        var three = p.Parse("BLOCK* ask 10.0.0.2:50010 to delete blk_456 blk_-789 blk_1011");
        var ten = p.Parse(
            "BLOCK* ask 10.0.0.3:50010 to delete "
                + string.Join(' ', Enumerable.Range(1, 10).Select(i => $"blk_{i * 7919}"))
        );
        Assert.Equal(one.Id, three.Id);
        Assert.Equal(one.Id, ten.Id);
        Assert.Equal(1, p.TemplateCount);
        Assert.Equal(3, one.Count);
        // A different constant at the end is not a list of the same variable.
        Assert.NotEqual(one.Id, p.Parse("BLOCK* ask 10.0.0.4:50010 to delete blk_-123 now").Id);
    }

    /// <summary>
    /// Ids are evidence: once a line got an id, every later line of the same kind gets the same id, however many
    /// other lines (that generalise or repair templates) come between.
    /// </summary>
    [Fact]
    public void TemplateIdsStayStableOverAStream()
    {
        var p = new DrainParser();
        string Line(int i) =>
            (i % 6) switch
            {
                0 => $"Accepted password for user{i % 13} from 10.0.{i % 250}.{i % 7} port {40000 + i} ssh2",
                1 => $"GET /api/items/{i} 200 {i % 97}.{i % 10}ms",
                2 =>
                    $"connection from {i % 250}.1.2.3 ({i % 250}.1.2.3) at Sat Jun {1 + i % 28} 02:08:{i % 60:D2} 2005",
                3 => $"deleting {string.Join(' ', Enumerable.Range(0, 1 + i % 5).Select(k => $"/data/part-{i}-{k}"))}",
                4 => $"worker {(i % 2 == 0 ? "alpha" : "beta")} finished batch {i} in {i % 9}s",
                _ => $"cache stats hits={i} misses={i % 17} ratio=0.{i % 100}",
            };
        var first = new Dictionary<int, int>(); // kind → id given to its first line
        for (int i = 0; i < 3000; i++)
        {
            int id = p.Parse(Line(i)).Id;
            if (!first.TryAdd(i % 6, id))
                Assert.Equal(first[i % 6], id);
        }
        Assert.Equal(6, first.Values.Distinct().Count());
        Assert.Equal(6, p.TemplateCount);
        // The first lines of the stream, seen again at its end, get their original ids.
        for (int i = 0; i < 12; i++)
            Assert.Equal(first[i % 6], p.Parse(Line(i)).Id);
    }

    [Fact]
    public void MatchingAKnownTemplateAllocatesNothing()
    {
        var p = new DrainParser();
        string[] lines =
        [
            "GET /api/items/12 200 3.5ms",
            "BLOCK* ask 10.0.0.1:50010 to delete blk_1 blk_2",
            "user alice logged in from 10.0.0.1",
        ];
        foreach (var l in lines)
            p.Parse(l);
        foreach (var l in lines)
            p.Parse(l);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
            foreach (var l in lines)
                p.Parse(l);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void TemplateIdsSurviveSaveAndLoad()
    {
        var miner = new TemplateMiner();
        string[] lines =
        [
            "GET /api/cart 200 in 12ms",
            "connection reset by peer 10.1.2.3",
            "user alice logged in",
            "user bob logged in",
            "cache miss for key k1",
            "evicting k1",
            "evicting k1 k2 k3 k4",
            "deleting /a/1 /a/2",
            "deleting /b/1 /b/2 /b/3",
        ]; // lists: a template with more shapes
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
