using LogWhisperer.Features.Logs;

namespace LogWhisperer.Tests;

/// <summary>The Drain parser's tokenizer on real data: Loghub's 2k samples in ../shared/data (the two lines below alone
/// where absent).</summary>
public class DrainParserLoghubTests
{
    /// <summary>
    /// The tokenizer's fast paths (plain words, key=value) and the general masker must key every token alike, or a
    /// template restored from its text would stop matching: checked on every token of Loghub's samples.
    /// </summary>
    [Fact]
    public void EveryTokenIsKeyedAsItsMaskedTextIs()
    {
        var root = Path.Combine(TestData.RepoRoot, "..", "shared", "data", "loghub-2k");
        var lines = new List<string>
        {
            "Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010",
            "uid=0 euid=0 tty=ssh ruser= rhost=183.62.140.253 user=root",
        };
        if (Directory.Exists(root))
            lines.AddRange(
                LoghubEvaluation.PublishedDrain.Keys.SelectMany(s => LoghubEvaluation.Load(root, s).Contents)
            );
        var tokens = new LogTokenizer.Token[512];
        int checkedTokens = 0;
        foreach (var line in lines)
        {
            int n = LogTokenizer.Tokenize(line, tokens);
            for (int i = 0; i < n; i++, checkedTokens++)
            {
                var text = line.AsSpan(tokens[i].Start, tokens[i].Length);
                var masked = LogTokenizer.MaskedText(text);
                Assert.True(
                    LogTokenizer.KeyOf(masked) == tokens[i].Key,
                    $"'{text}' keyed unlike its masked text '{masked}'"
                );
                Assert.Equal(masked != text.ToString(), tokens[i].Masked);
                Assert.Equal(!tokens[i].Masked && LogTokenizer.IsPlainWord(text), tokens[i].Word);
            }
        }
        Assert.True(checkedTokens > 10, $"{checkedTokens} tokens");
    }
}
