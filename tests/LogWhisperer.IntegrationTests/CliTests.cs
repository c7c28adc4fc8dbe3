using System.Text.Json;
using LogWhisperer.Explain;

namespace LogWhisperer.Tests;

/// <summary>The program as users run it (README's first command), in a child process.</summary>
[Collection(SeveralEnginesCollection.Name)] // starts the program as a child process: one such test at a time
public class CliTests
{
    internal static (int Exit, string Out, string Err) Run(params string[] args) =>
        TestData.RunProcess("dotnet", [TestData.CliDll, .. args], TimeSpan.FromMinutes(3));

    [Fact]
    public void DemoPrintsValidRcaEventsAndNamesTheInjectedServiceFirst()
    {
        var dir = TestData.TempDir();
        var (exit, stdout, stderr) = Run("demo", "--seed", "7", "--snapshots", dir);
        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        var events = lines.Select(l => JsonSerializer.Deserialize<RcaEvent>(l, RcaEvent.JsonOptions)!).ToList();
        Assert.All(
            events,
            e =>
            {
                Assert.Equal(RcaEvent.SchemaId, e.Schema);
                Assert.Equal("online-boutique", e.Cluster);
                Assert.True(e.WindowEnd > e.WindowStart);
                Assert.Equal(Enumerable.Range(1, e.Candidates.Count), e.Candidates.Select(c => c.Rank));
                Assert.False(string.IsNullOrWhiteSpace(e.Explanation));
            }
        );
        // The summary names the injected fault, and the first event's rank-1 service is it.
        var injected = stderr.Split('\n').First(l => l.StartsWith("injecting"));
        var service = injected.Split(' ')[3];
        Assert.Equal(service, events[0].Candidates[0].Service);
        Assert.Contains("correct", stderr);
        Assert.NotEmpty(Directory.GetFiles(dir, "*.nodes.arrow", SearchOption.AllDirectories));

        // A later `score` reads the snapshots back and reaches the same verdicts.
        var (scoreExit, scored, _) = Run("score", "--snapshots", dir);
        Assert.Equal(0, scoreExit);
        var rescored = scored
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonSerializer.Deserialize<RcaEvent>(l, RcaEvent.JsonOptions)!)
            .ToList();
        // (`score` judges windows; the demo's incident stage adds the incident's resolution event on a quiet window.)
        Assert.Single(events, e => e.Incident!.State == IncidentInfo.Resolved);
        Assert.Equal(
            events.Where(e => e.Incident!.State != IncidentInfo.Resolved).Select(e => (e.Id, e.Candidates[0].Service)),
            rescored.Select(e => (e.Id, e.Candidates[0].Service))
        );
    }

    [Fact]
    public void TrainThenEvalProduceAModelAndAnAccuracyTable()
    {
        var dir = TestData.TempDir();
        var model = Path.Combine(dir, "tiny.lwm");
        var trainJson = Path.Combine(dir, "train.json");
        var (trainExit, _, trainErr) = Run(
            "train",
            "--topology",
            "online-boutique",
            "--validation-topology",
            "none",
            "--clusters",
            "2",
            "--incidents",
            "3",
            "--epochs",
            "2",
            "--out",
            model,
            "--json",
            trainJson
        );
        Assert.True(trainExit == 0, trainErr);
        Assert.Contains("epoch   1", trainErr);
        Assert.DoesNotContain("\u001b[", trainErr); // redirected: plain lines, no colour or cursor control
        // For machines: every epoch as the progress lines showed it, the windows, the calibration and the files
        // written.
        using (var run = JsonDocument.Parse(File.ReadAllText(trainJson)))
        {
            var root = run.RootElement;
            Assert.Equal(model, root.GetProperty("model").GetString());
            var epochs = root.GetProperty("epochs").EnumerateArray().ToList();
            Assert.Equal([1, 2], epochs.Select(e => e.GetProperty("epoch").GetInt32()));
            foreach (var e in epochs)
            {
                Assert.Contains(
                    FormattableString.Invariant(
                        $"epoch {e.GetProperty("epoch").GetInt32(), 3}  train loss {e.GetProperty("trainLoss").GetDouble():0.0000}"
                    ),
                    trainErr
                );
                Assert.InRange(e.GetProperty("validationAc1").GetDouble(), 0, 1);
            }
            // one whole cluster held out
            Assert.Single(root.GetProperty("validation").GetProperty("clusters").EnumerateArray());
            Assert.True(root.GetProperty("train").GetProperty("incidentWindows").GetInt32() > 0);
            Assert.True(root.GetProperty("calibration").GetProperty("temperature").GetDouble() > 0);
            Assert.Equal(
                Path.ChangeExtension(model, ".curves.png"),
                root.GetProperty("curves").GetProperty("png").GetString()
            );
        }
        Assert.True(File.Exists(model));
        // the curves: a well-formed SVG, and a PNG
        var svg = System.Xml.Linq.XDocument.Load(Path.ChangeExtension(model, ".curves.svg"));
        Assert.Contains("val incident", svg.ToString());
        Assert.True(new FileInfo(Path.ChangeExtension(model, ".curves.png")).Length > 1000);

        var json = Path.Combine(dir, "eval.json");
        var (evalExit, table, evalErr) = Run("eval", "--incidents", "4", "--seed", "3", "--json", json);
        Assert.True(evalExit == 0, evalErr);
        Assert.Matches(@"\| +AC@1 +\| +AC@3 +\| +Avg@5 +\|", table); // Markdown, as output is redirected here
        Assert.Matches(@"\| robust z-score \(BARO/N-Sigma\) +\|", table);
        Assert.Matches(@"\| GAT without edges +\|", table);
        Assert.Contains("MRR", table);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(4, doc.RootElement.GetProperty("results").GetArrayLength());
        Assert.InRange(doc.RootElement.GetProperty("ac1").GetDouble(), 0, 1);
        // Beside the JSON, the bar chart as SVG and PNG, each method in its legend (bar heights: PlotTests).
        var chart = System.Xml.Linq.XDocument.Load(Path.ChangeExtension(json, ".svg")).ToString();
        foreach (var method in new[] { "LogWhisperer GAT", "robust z-score (BARO/N-Sigma)", "GAT without edges" })
            Assert.Contains(method, chart);
        Assert.True(new FileInfo(Path.ChangeExtension(json, ".png")).Length > 1000);
    }

    [Fact]
    public void BadArgumentsGiveAClearErrorNotAStackTrace()
    {
        var (exit, _, err) = Run("demo", "--topology", "no-such-mesh");
        Assert.Equal(2, exit); // usage: the option names something that is not there
        Assert.Contains("no topology file or shipped topology named 'no-such-mesh'", err);
        Assert.DoesNotContain("   at ", err);

        var (exit2, _, err2) = Run("demo", "--model", "/nonexistent/model.lwm");
        Assert.Equal(2, exit2);
        Assert.Contains("logwhisperer train", err2);
    }
}
