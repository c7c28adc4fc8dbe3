using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace LogWhisperer.Tests;

/// <summary>
/// Docs are code. In README.md and docs/*.md:
/// <list type="bullet">
/// <item>every `logwhisperer …` (or `dotnet run --project src/LogWhisperer.Cli -c Release -- …`) line of a bash block
/// must parse against the real program (unknown commands and options, nonsense values fail);</item>
/// <item>a block after <c>&lt;!-- doc-test: run --&gt;</c> runs, each of its command lines exiting 0;</item>
/// <item>a block after <c>&lt;!-- doc-output: ARGS [| REGEX] --&gt;</c> must equal what `logwhisperer ARGS` prints
/// (stderr then stdout, the lines matching REGEX when given). `LW_UPDATE_DOCS=1 dotnet test
/// --filter DocTests` rewrites stale blocks from the program's output.</item>
/// <item>every relative link (a file, an image, a heading anchor as GitHub makes it) points at something that
/// exists.</item>
/// </list>
/// </summary>
[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public partial class DocTests
{
    private static IEnumerable<string> DocFiles() =>
        new[] { Path.Combine(TestData.RepoRoot, "README.md") }.Concat(
            Directory.GetFiles(Path.Combine(TestData.RepoRoot, "docs"), "*.md").Order()
        );

    private sealed record Block(
        string File,
        int Line,
        string Language,
        string? Marker,
        IReadOnlyList<string> Lines,
        int Start,
        int End
    );

    /// <summary>Fenced blocks with the HTML comment (if any) on the line before their opening fence.</summary>
    private static List<Block> Blocks(string file)
    {
        var lines = File.ReadAllLines(file);
        var blocks = new List<Block>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("```", StringComparison.Ordinal))
                continue;
            var language = lines[i][3..].Trim();
            int end = i + 1;
            while (end < lines.Length && !lines[end].StartsWith("```", StringComparison.Ordinal))
                end++;
            var marker =
                i > 0 && lines[i - 1].TrimStart().StartsWith("<!--", StringComparison.Ordinal)
                    ? lines[i - 1].Trim()
                    : null;
            blocks.Add(new Block(file, i + 1, language, marker, lines[(i + 1)..end], i + 1, end));
            i = end;
        }
        return blocks;
    }

    /// <summary>The program's arguments on a shown command line, or null when the line runs something else.</summary>
    private static string[]? CliArguments(string line)
    {
        var words = ShellWords(line);
        if (words.Count > 0 && words[0] == "logwhisperer")
            return [.. words.Skip(1)];
        int dashes = words.IndexOf("--");
        if (
            words.Count > 3
            && words[0] == "dotnet"
            && words[1] == "run"
            && words.Contains("src/LogWhisperer.Cli")
            && dashes > 0
        )
            return [.. words.Skip(dashes + 1)];
        return null;
    }

    /// <summary>Shell-like words: quotes grouped, an unquoted # starts a comment, a redirection or control operator
    /// ends the command.</summary>
    private static List<string> ShellWords(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        char quote = '\0';
        bool inWord = false;
        foreach (char c in line)
        {
            if (quote != '\0')
            {
                if (c == quote)
                    quote = '\0';
                else
                    word.Append(c);
                continue;
            }
            if (c is '\'' or '"')
            {
                quote = c;
                inWord = true;
                continue;
            }
            if (c == '#' && !inWord)
                break;
            if (c is '&' or '|' or ';' or '>' or '<')
                break; // the program's own arguments end at a shell operator
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
                continue;
            }
            word.Append(c);
            inWord = true;
        }
        if (inWord)
            words.Add(word.ToString());
        return words;
    }

    /// <summary>A block's command lines, with backslash continuations joined.</summary>
    private static IEnumerable<(int Line, string Text)> CommandLines(Block block)
    {
        var current = new StringBuilder();
        int start = 0;
        for (int i = 0; i < block.Lines.Count; i++)
        {
            var text = block.Lines[i].TrimEnd();
            if (current.Length == 0)
                start = block.Line + 1 + i;
            if (text.EndsWith('\\'))
            {
                current.Append(text[..^1]).Append(' ');
                continue;
            }
            current.Append(text);
            if (current.ToString().Trim().Length > 0)
                yield return (start, current.ToString().Trim());
            current.Clear();
        }
    }

    private static (int Exit, string Out, string Err) Run(string[] args, bool parseOnly)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestData.RepoRoot,
        };
        psi.ArgumentList.Add(TestData.CliDll);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        if (parseOnly)
            psi.Environment["LW_PARSE_ONLY"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(true);
            throw new TimeoutException(string.Join(' ', args));
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static bool IsShell(Block b) => b.Language is "bash" or "sh" or "shell" or "console";

    [Fact]
    public void EveryCommandLineInTheDocsParses()
    {
        var failures = new List<string>();
        int checkedLines = 0;
        foreach (var file in DocFiles())
        foreach (var block in Blocks(file).Where(IsShell))
        foreach (var (line, text) in CommandLines(block))
        {
            if (CliArguments(text) is not { } args)
                continue;
            checkedLines++;
            var (exit, _, err) = Run(args, parseOnly: true);
            if (exit != 0)
                failures.Add($"{Path.GetRelativePath(TestData.RepoRoot, file)}:{line}: `{text}`: {err.Trim()}");
        }
        Assert.True(checkedLines > 10, $"only {checkedLines} command lines found");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void RunnableBlocksRun()
    {
        var failures = new List<string>();
        foreach (var file in DocFiles())
        foreach (var block in Blocks(file).Where(b => b.Marker == "<!-- doc-test: run -->"))
        foreach (var (line, text) in CommandLines(block))
        {
            var args =
                CliArguments(text)
                ?? throw new InvalidOperationException(
                    $"{file}:{line}: a doc-test block runs only logwhisperer command lines"
                );
            var (exit, _, err) = Run(args, parseOnly: false);
            if (exit != 0)
                failures.Add(
                    $"{Path.GetRelativePath(TestData.RepoRoot, file)}:{line}: `{text}` exited {exit}: {err.Trim()}"
                );
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [GeneratedRegex(@"^<!-- doc-output: (?<args>.+?)(?: \| (?<filter>.+?))? -->$")]
    private static partial Regex OutputMarker();

    [Fact]
    public void ShownOutputIsWhatTheProgramPrints()
    {
        bool update = Environment.GetEnvironmentVariable("LW_UPDATE_DOCS") == "1";
        var stale = new List<string>();
        int blocks = 0;
        foreach (var file in DocFiles())
        {
            var lines = File.ReadAllLines(file).ToList();
            bool changed = false;
            foreach (
                var block in Blocks(file).Where(b => b.Marker is not null && OutputMarker().IsMatch(b.Marker)).Reverse()
            )
            {
                blocks++;
                var m = OutputMarker().Match(block.Marker!);
                var (_, stdout, stderr) = Run([.. ShellWords(m.Groups["args"].Value)], parseOnly: false);
                var filter = m.Groups["filter"].Success ? new Regex(m.Groups["filter"].Value) : null;
                var produced = (stderr + stdout)
                    .Split('\n')
                    .Select(l => l.TrimEnd())
                    .Where(l => filter?.IsMatch(l) ?? l.Length > 0)
                    .ToList();
                if (produced.SequenceEqual(block.Lines))
                    continue;
                if (update)
                {
                    lines.RemoveRange(block.Start, block.End - block.Start);
                    lines.InsertRange(block.Start, produced);
                    changed = true;
                }
                else
                    stale.Add(
                        $"{Path.GetRelativePath(TestData.RepoRoot, file)}:{block.Line}: `logwhisperer {m.Groups["args"].Value}` now prints:\n{string.Join('\n', produced)}"
                    );
            }
            if (changed)
                File.WriteAllLines(file, lines);
        }
        Assert.True(blocks > 0, "no doc-output block found");
        Assert.True(
            stale.Count == 0,
            "stale output in the docs (LW_UPDATE_DOCS=1 dotnet test --filter DocTests regenerates it):\n"
                + string.Join("\n\n", stale)
        );
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex LinkTarget();

    [GeneratedRegex(@"^#{1,6}\s+(?<title>.*?)\s*$")]
    private static partial Regex Heading();

    /// <summary>A file's lines outside fenced blocks, inline code blanked (a link shown as code is not a
    /// link).</summary>
    private static IEnumerable<(int Line, string Text)> Prose(string file)
    {
        bool fenced = false;
        var lines = File.ReadAllLines(file);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }
            if (!fenced)
                yield return (i + 1, Regex.Replace(lines[i], "`[^`]*`", ""));
        }
    }

    /// <summary>The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces as
    /// hyphens, repeats numbered.</summary>
    private static HashSet<string> Anchors(string file)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        bool fenced = false;
        foreach (var line in File.ReadAllLines(file))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }
            if (fenced || Heading().Match(line) is not { Success: true } m)
                continue;
            var slug = Regex
                .Replace(m.Groups["title"].Value.ToLowerInvariant(), @"[^\p{L}\p{Nd}\p{Mn}_\- ]", "")
                .Replace(' ', '-');
            int n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }
        return anchors;
    }

    [Fact]
    public void EveryRelativeLinkResolves()
    {
        var broken = new List<string>();
        int links = 0;
        foreach (var file in DocFiles())
        foreach (var (line, text) in Prose(file))
        foreach (Match m in LinkTarget().Matches(text))
        {
            var target = m.Groups["target"].Value;
            if (Regex.IsMatch(target, "^[a-z]+:"))
                continue; // https:, mailto:
            links++;
            int hash = target.IndexOf('#');
            var path = hash < 0 ? target : target[..hash];
            var resolved = path.Length == 0 ? file : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, path));
            var where = $"{Path.GetRelativePath(TestData.RepoRoot, file)}:{line}: ({target})";
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
                broken.Add($"{where}: no such file");
            else if (
                hash >= 0
                && resolved.EndsWith(".md", StringComparison.Ordinal)
                && !Anchors(resolved).Contains(target[(hash + 1)..])
            )
                broken.Add($"{where}: no such heading");
        }
        Assert.True(links > 50, $"only {links} relative links found");
        Assert.True(broken.Count == 0, string.Join('\n', broken));
    }
}
