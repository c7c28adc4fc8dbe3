using LogWhisperer.Features;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;

namespace LogWhisperer.Tests;

/// <summary>
/// Memory follows the services a mesh has now: names come and go (pods, versions, short-lived jobs), and a service
/// no window has held for the forget time leaves the windower and the featurizer together.
/// </summary>
public class ServiceForgettingTests
{
    private const long Window = 30_000;
    private const long ForgetMs = 10 * 60_000; // 20 windows

    private readonly EventTimeWindower _windower = new(
        new WindowOptions { ForgetServiceAfterMs = ForgetMs },
        new PipelineCounters(),
        new MemoryDeadLetterSink()
    );

    /// <summary>One window of a front end calling <paramref name="backend"/>, both logging; "declared" sends
    /// nothing.</summary>
    private static List<TelemetryRecord> OneWindow(int w, string? backend)
    {
        long t0 = w * Window;
        var batch = new List<TelemetryRecord>
        {
            new LogRecord(t0 + 1000, "c", "front", LogSeverity.Info, $"request {w} served"),
            new SpanRecord(t0 + 2000, "c", "front", $"t{w}", "a", null, "GET /", SpanKind.Server, null, 5, false),
        };
        if (backend is not null)
        {
            batch.Add(
                new SpanRecord(t0 + 2001, "c", "front", $"t{w}", "b", "a", "call", SpanKind.Client, backend, 3, false)
            );
            batch.Add(
                new SpanRecord(t0 + 2002, "c", backend, $"t{w}", "c", "b", "serve", SpanKind.Server, null, 2, false)
            );
            batch.Add(new LogRecord(t0 + 3000, "c", backend, LogSeverity.Info, $"{backend} handled request {w}"));
        }
        return batch;
    }

    private List<WindowFeatures> Run(Featurizer featurizer, int windows, Func<int, string?> backend)
    {
        var features = new List<WindowFeatures>();
        var closed = new List<WindowAggregate>();
        for (int w = 0; w < windows; w++)
        {
            _windower.Add(OneWindow(w, backend(w)), closed);
            features.AddRange(closed.Select(featurizer.Featurize));
            closed.Clear();
        }
        return features;
    }

    [Fact]
    public void ServicesThatComeAndGoAreForgottenSoStateStaysBoundedOverHours()
    {
        // Six hours; a new backend name every 10 minutes (36 in all), each one gone after its 10 minutes.
        var featurizer = new Featurizer(new FeaturizerOptions { ForgetServiceAfterMs = ForgetMs });
        var features = Run(featurizer, 720, w => $"pod-{w / 20}");
        var last = features[^1];
        // The front end, the current backend and the one or two before it still within the forget time.
        Assert.InRange(last.Services.Length, 2, 4);
        Assert.Contains("pod-35", last.Services);
        Assert.DoesNotContain("pod-30", last.Services);
        Assert.InRange(last.Edges.Length, 1, 3);
        var (services, parsers, traceKeys, _) = _windower.Remembered("c");
        Assert.InRange(services, 2, 4);
        Assert.InRange(parsers, 2, 4);
        // Operations per service (2–4 services) and events: the front end's "calls pod-k" events stay, bounded by
        // TraceBaselines.MaxKeys (least recent out), while it lives; the backends' own went with them.
        Assert.InRange(traceKeys, 1, 2 * 4 + 36 + 4 * 2);
        Assert.All(features.Skip(100), f => Assert.InRange(f.Services.Length, 2, 4)); // flat, not growing
    }

    [Fact]
    public void ASilentServiceStaysInTheGraphForTheForgetTimeAndADeclaredOneForever()
    {
        var featurizer = new Featurizer(new FeaturizerOptions { ForgetServiceAfterMs = ForgetMs }, ["declared"]);
        // "db" serves the first 10 windows, then falls silent (a killed pod): its silence is a symptom for a while.
        var features = Run(featurizer, 60, w => w < 10 ? "db" : null);
        var byWindow = features.ToDictionary(f => (int)(f.StartMs / Window));
        Assert.Contains("db", byWindow[10].Services);
        Assert.Contains("db", byWindow[29].Services); // window 29 ends 10 min after db's last window (9) ended
        Assert.DoesNotContain("db", byWindow[31].Services);
        Assert.All(features, f => Assert.Contains("declared", f.Services));
        Assert.Equal(1, _windower.Remembered("c").Parsers); // the front end's; db's template miner went with it
    }
}

public class TraceBaselineBoundTests
{
    [Fact]
    public void PastTheCapTheLeastRecentlySeenEventsMakeRoomForNewOnes()
    {
        var baselines = new TraceBaselines();
        static Dictionary<(string, EventKey), int> Counts(IEnumerable<int> templates) =>
            templates.ToDictionary(t => ("svc", new EventKey(EventKind.Log, null, t)), _ => 1);
        // Every key once, in windows of 10,000; then template 0 again, so it is the most recently seen of the first.
        for (int from = 0; from < TraceBaselines.MaxKeys; from += 10_000)
            baselines.Learn([], Counts(Enumerable.Range(from, 10_000)));
        baselines.Learn([], Counts([0]));
        Assert.Equal(TraceBaselines.MaxKeys, baselines.Keys);

        baselines.Learn([], Counts([TraceBaselines.MaxKeys])); // one more: learnt, not refused
        Assert.Equal(1, baselines.Event("svc", new EventKey(EventKind.Log, null, TraceBaselines.MaxKeys)).Windows);
        Assert.Equal(TraceBaselines.MaxKeys - TraceBaselines.MaxKeys / 10 + 1, baselines.Keys);
        Assert.Equal(0, baselines.Event("svc", new EventKey(EventKind.Log, null, 1)).Windows); // seen longest ago: gone
        Assert.True(baselines.Event("svc", new EventKey(EventKind.Log, null, 0)).Windows > 0); // seen lately: kept
    }
}
