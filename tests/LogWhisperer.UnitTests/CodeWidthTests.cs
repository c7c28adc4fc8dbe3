namespace LogWhisperer.Tests;

/// <summary> CSharpier keeps code within 120 columns but does not wrap comments; this keeps them readable too
/// (docs/development.md, code style).
/// </summary>
public class CodeWidthTests
{
    private const int Width = 120;

    [Fact]
    public void NoCommentLineIsWiderThan120Columns()
    {
        var files = new[] { "src", "tests", "benchmarks" }
            .SelectMany(dir =>
                Directory.EnumerateFiles(Path.Combine(TestData.RepoRoot, dir), "*.cs", SearchOption.AllDirectories)
            )
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        Assert.True(files.Count > 200, $"found only {files.Count} C# files under {TestData.RepoRoot}");
        var wide = files
            .SelectMany(path =>
                File.ReadLines(path)
                    .Select((line, i) => (path, line, number: i + 1))
                    .Where(l => l.line.Length > Width && l.line.TrimStart().StartsWith("//", StringComparison.Ordinal))
            )
            .Select(l => $"{Path.GetRelativePath(TestData.RepoRoot, l.path)}:{l.number} ({l.line.Length} columns)")
            .ToList();
        Assert.True(wide.Count == 0, $"comment lines wider than {Width} columns:\n{string.Join("\n", wide)}");
    }
}
