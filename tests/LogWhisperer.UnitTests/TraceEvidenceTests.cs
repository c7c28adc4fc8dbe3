using LogWhisperer.Decode.Formats;
using LogWhisperer.Explain;
using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;

namespace LogWhisperer.Tests;

/// <summary>
/// Log–trace linkage and the per-window trace evidence: anomalous traces (failed, slow for their operation, or
/// carrying a new or surging warn/error line), their deepest anomalies, the services at or below them, and
/// event-pattern shift — on a Train-Ticket-like chain gateway → travel → basic → route whose root (route) logs
/// nothing and whose spans look normal, while its caller logs the failure in the failing request's span.
/// </summary>
public partial class TraceEvidenceTests
{
    private static readonly long T0 = new Simulation.SimulationOptions().StartMs;
    private const long Window = 30_000;

    /// <summary>One request: server spans nested gateway → travel → basic → route (no client spans, as in Nezha's
    /// export).</summary>
    private static IEnumerable<TelemetryRecord> Request(
        long ts,
        int n,
        bool failing,
        double routeMs = 5,
        double travelLineSpanShift = 0,
        int routeLines = 0
    )
    {
        string trace = $"{n:x32}",
            gw = $"a{n:x15}",
            travel = $"b{n:x15}",
            basic = $"c{n:x15}",
            route = $"d{n:x15}";
        yield return new SpanRecord(
            ts,
            "c",
            "gateway",
            trace,
            gw,
            null,
            "/*",
            SpanKind.Server,
            null,
            40 + routeMs,
            false
        );
        yield return new SpanRecord(
            ts + 1,
            "c",
            "travel",
            trace,
            travel,
            gw,
            "/trips/left",
            SpanKind.Server,
            null,
            30 + routeMs,
            false
        );
        yield return new SpanRecord(
            ts + 2,
            "c",
            "basic",
            trace,
            basic,
            travel,
            "/basic/travels",
            SpanKind.Server,
            null,
            20 + routeMs,
            false
        );
        yield return new SpanRecord(
            ts + 3,
            "c",
            "route",
            trace,
            route,
            basic,
            "/routes/byIds",
            SpanKind.Server,
            null,
            routeMs,
            false
        );
        for (int line = 0; line < routeLines; line++) // the route's own lines of a request it finishes
            yield return new LogRecord(
                ts + 3,
                "c",
                "route",
                LogSeverity.Info,
                $"INFO RouteServiceImpl TraceID: {trace} SpanID: {route} [getRouteById][Query route by id]",
                trace,
                route
            );
        yield return failing
            ? new LogRecord(
                ts + 4,
                "c",
                "travel",
                LogSeverity.Error,
                $"ERROR dispatcherServlet TraceID: {trace} SpanID: "
                    + $"{travel} Servlet.service() threw exception [Request processing failed]",
                trace,
                travel
            )
            : new LogRecord(
                ts + 4,
                "c",
                "travel",
                LogSeverity.Info,
                $"INFO TravelServiceImpl TraceID: {trace} SpanID: {travel} [getRestTicketNumber] left {n % 7} tickets",
                trace,
                travel
            );
    }

    /// <summary>Windows of <paramref name="perWindow"/> requests each; in <paramref name="faultyWindow"/> the first
    /// <paramref name="failing"/> fail.</summary>
    private static List<WindowAggregate> Run(
        int windows,
        int perWindow,
        int faultyWindow = -1,
        int failing = 0,
        Func<int, int, double>? routeMs = null,
        Func<bool, int>? routeLines = null
    )
    {
        var windower = new EventTimeWindower(new WindowOptions(), new PipelineCounters(), new MemoryDeadLetterSink());
        var closed = new List<WindowAggregate>();
        int n = 1;
        for (int w = 0; w < windows; w++)
        {
            var batch = new List<TelemetryRecord>();
            for (int r = 0; r < perWindow; r++)
                batch.AddRange(
                    Request(
                        T0 + w * Window + r * (Window / perWindow),
                        n++,
                        w == faultyWindow && r < failing,
                        routeMs?.Invoke(w, r) ?? 5 + r % 3,
                        routeLines: routeLines?.Invoke(w == faultyWindow && r < failing) ?? 0
                    )
                );
            windower.Add(batch, closed);
        }
        windower.Flush(closed);
        return closed;
    }

    [Fact]
    public void TheSilentRootIsBelowTheDeepestAnomalyAndTheGatewayAboveItIsNot()
    {
        // 8 windows (4 min) of normal traffic teach templates and event counts, then 10 of 12 requests fail.
        var windows = Run(windows: 10, perWindow: 12, faultyWindow: 8, failing: 10);
        var fault = windows.Single(w => w.StartMs == T0 + 8 * Window);
        var route = fault.Services["route"].Evidence;
        var travel = fault.Services["travel"].Evidence;
        var gateway = fault.Services["gateway"].Evidence;

        Assert.Equal(10, route.WindowAnomalousTraces);
        Assert.Equal(10, route.AnomalousTraces); // every failing request passed through it, below travel's anomaly
        Assert.Equal(2, route.NormalTraces);
        Assert.Equal(0, gateway.AnomalousTraces); // above the deepest anomaly: not blamable
        Assert.Equal(1.0, travel.DeepestShare, 3); // the failure was logged in travel's span
        Assert.Equal(0, route.DeepestShare);
        Assert.Equal(10, travel.ShiftedErrorLines); // a never-seen error template, linked to its span
        Assert.Equal(0, fault.Services["route"].ErrorLogs); // the root logged nothing
        Assert.True(
            route.Spectrum > 0.9 && gateway.Spectrum == 0,
            $"route {route.Spectrum}, gateway {gateway.Spectrum}"
        );

        // Before the fault nothing was anomalous.
        Assert.All(
            windows.Where(w => w.StartMs < fault.StartMs),
            w => Assert.All(w.Services.Values, s => Assert.Equal(0, s.Evidence.WindowAnomalousTraces))
        );
    }

    [Fact]
    public void ASpanFarSlowerThanItsOwnOperationMakesItsTraceAnomalous()
    {
        // route answers in 5–7 ms for 8 windows; in window 8 two requests take 400 ms.
        var windows = Run(windows: 10, perWindow: 12, routeMs: (w, r) => w == 8 && r < 2 ? 400 : 5 + r % 3);
        var fault = windows.Single(w => w.StartMs == T0 + 8 * Window);
        Assert.Equal(2, fault.Services["route"].Evidence.SlowSpans);
        Assert.Equal(2, fault.Services["route"].Evidence.WindowAnomalousTraces);
        // Its callers' spans took longer too, but only by the route's delay: 2× their own p99 is not reached by the
        // gateway (45 ms usual), the deepest slow span is route's own.
        Assert.True(
            fault.Services["route"].Evidence.DeepestShare >= 0.5,
            $"deepest share {fault.Services["route"].Evidence.DeepestShare}"
        );
    }

    [Fact]
    public void ARequestCutShortMarksItsServiceAsTheDeepestAnomalyThoughItLoggedNoError()
    {
        // 12 requests a window, 10 of them failing in the faulty window; the route's lines per request.
        static List<WindowAggregate> Route(int windows, int faultyWindow, Func<bool, int> lines) =>
            Run(windows, perWindow: 12, faultyWindow, failing: 10, routeLines: lines);

        // route writes one line per request; in the failing ones it threw before writing it (Nezha's exception
        // faults): its spans look normal in duration, but each lacks the line every earlier one had.
        var windows = Route(10, 8, failing => failing ? 0 : 1);
        var fault = windows.Single(w => w.StartMs == T0 + 8 * Window);
        var route = fault.Services["route"].Evidence;
        Assert.Equal(10, route.TruncatedSpans);
        Assert.Equal(1.0, route.DeepestShare, 3); // below travel's logged failure, so the deepest anomaly
        Assert.Equal(0, fault.Services["travel"].Evidence.DeepestShare);
        Assert.All(windows, w => Assert.Equal(0, w.Services["travel"].Evidence.TruncatedSpans)); // one line either way

        // When the route finished its failing requests as usual, nothing was cut short: travel's span stays deepest.
        var finished = Route(10, 8, _ => 1);
        var same = finished.Single(w => w.StartMs == T0 + 8 * Window).Services;
        Assert.Equal(0, same["route"].Evidence.TruncatedSpans);
        Assert.Equal(1.0, same["travel"].Evidence.DeepestShare, 3);

        // An operation without a usual shape (the route writes two lines in two requests of three, else one) is never
        // judged, though its failing requests write none: fewer than any recent span, but "recent" says too little.
        int k = 0;
        var sampled = Route(
            10,
            8,
            failing =>
                failing ? 0
                : k++ % 3 == 0 ? 1
                : 2
        );
        Assert.All(sampled, w => Assert.Equal(0, w.Services["route"].Evidence.TruncatedSpans));

        // With fewer than 32 earlier whole spans of the operation (24 here) there is no "usual" to fall short of.
        var early = Route(2, 1, failing => failing ? 0 : 1);
        Assert.All(early, w => Assert.Equal(0, w.Services["route"].Evidence.TruncatedSpans));
    }

    [Fact]
    public void CallsAreReadFromNestedServerSpansWhenNoClientSpansWereRecorded()
    {
        var window = Run(windows: 1, perWindow: 5).Single();
        Assert.Equal(5, window.Edges[("gateway", "travel")].Calls);
        Assert.Equal(5, window.Edges[("basic", "route")].Calls);
        Assert.False(window.Edges.ContainsKey(("gateway", "route")));
    }

    [Fact]
    public void EventsThatSurgeOrVanishAgainstTheirBaselineAreScored()
    {
        var windows = Run(windows: 10, perWindow: 12, faultyWindow: 8, failing: 10);
        var fault = windows.Single(w => w.StartMs == T0 + 8 * Window).Services["travel"].Evidence;
        Assert.True(fault.EventRise >= 4, $"rise {fault.EventRise}");
        Assert.StartsWith("log: ", fault.TopEvent);
        // Its usual info template fell from ~12 lines a window to 2.
        var quiet = windows.Single(w => w.StartMs == T0 + 7 * Window).Services["travel"].Evidence;
        Assert.True(
            quiet.EventRise < 2 && quiet.EventFall < 2,
            $"normal window rise {quiet.EventRise}, fall {quiet.EventFall}"
        );
    }

    [Fact]
    public void ServiceWindowsCarryTheEvidenceThroughTheTwoStageCodec()
    {
        var windows = Run(windows: 10, perWindow: 12, faultyWindow: 8, failing: 10);
        var fault = windows.Single(w => w.StartMs == T0 + 8 * Window);
        var part = ServiceWindow.Split(fault).Single(p => p.Service == "route");
        var back = ServiceWindowCodec.Decode(ServiceWindowCodec.Encode(part));
        Assert.Equivalent(part.Stats.Evidence, back.Stats.Evidence);
    }

    [Theory]
    [InlineData(
        "16:42:22.382 INFO t.s.TravelServiceImpl#532 TraceID: "
            + "ffc8ca7e4c8f06c75142c880d5595d96 SpanID: 439bc949a9eeb0cc [getRoute]",
        "ffc8ca7e4c8f06c75142c880d5595d96",
        "439bc949a9eeb0cc"
    )]
    [InlineData(
        "level=error msg=\"charge failed\" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7"
    )]
    [InlineData(
        "{\"msg\":\"boom\",\"traceId\":\"4BF92F3577B34DA6A3CE929D0E0E4736\",\"spanId\":\"00F067AA0BA902B7\"}",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7"
    )]
    [InlineData("request failed trace_id=00000000000000000000000000000000", null, null)]
    [InlineData("no ids here, only a traceroute to 10.0.0.1", null, null)]
    public void TraceAndSpanIdsAreFoundInTheText(string line, string? trace, string? span)
    {
        Assert.Equal((trace, span), TraceContext.FromText(line));
    }

    [Fact]
    public void ALokiEntrysStructuredMetadataNamesItsTraceBeforeTheStreamLabelsAndTheText()
    {
        const string Label = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            Meta = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            Text = "cccccccccccccccccccccccccccccccc";
        var w = new ProtoWriter();
        w.Message(
            1,
            s =>
            {
                s.String(1, $"{{service_name=\"cart\", traceID=\"{Label}\"}}");
                void Entry(string line, params (string Name, string Value)[] metadata) =>
                    s.Message(
                        2,
                        e =>
                        {
                            e.Message(1, t => t.Varint(1, 1_767_225_600));
                            e.String(2, line);
                            foreach (var (name, value) in metadata)
                                e.Message(
                                    3,
                                    p =>
                                    {
                                        p.String(1, name);
                                        p.String(2, value);
                                    }
                                );
                        }
                    );
                Entry(
                    "with metadata",
                    ("pod", "cart-1"),
                    ("span_id", "1234ABCD"),
                    ("trace_id", "not an id"),
                    ("traceId", Meta.ToUpperInvariant())
                );
                Entry("without metadata");
                Entry($"metadata without a trace, the text has one: trace_id={Text}", ("pod", "cart-1"));
            }
        );
        var output = new List<TelemetryRecord>();
        new LokiProtoDecoder(new DecodeOptions()).Decode(SnappyBlock.Compress(w.WrittenSpan), output);
        Assert.Equal(
            [(Meta, "1234abcd"), (Label, null), (Text, null)],
            output.Cast<LogRecord>().Select(l => (l.TraceId, l.SpanId))
        );
    }

    // The definition the scanner implements, as the regexes it replaced (kept here as the reference).
    [System.Text.RegularExpressions.GeneratedRegex(
        """(?i)\btrace[_.-]?id"?\s*[=:]\s*"?(?!0+\b)([0-9a-f]{16,32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"""
    )]
    private static partial System.Text.RegularExpressions.Regex TraceInText();

    [System.Text.RegularExpressions.GeneratedRegex("""(?i)\bspan[_.-]?id"?\s*[=:]\s*"?(?!0+\b)([0-9a-f]{8,16})\b""")]
    private static partial System.Text.RegularExpressions.Regex SpanInText();

    [Fact]
    public void TheIdScannerFindsWhatTheReferenceRegexesFindOnMutatedLines()
    {
        string[] seeds =
        [
            "16:42:22.382 INFO t.s.TravelServiceImpl#532 TraceID: "
                + "ffc8ca7e4c8f06c75142c880d5595d96 SpanID: 439bc949a9eeb0cc [getRoute]",
            "level=error msg=\"charge failed\" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
            "{\"msg\":\"boom\",\"traceId\":\"4BF92F3577B34DA6A3CE929D0E0E4736\",\"spanId\":\"00F067AA0BA902B7\"}",
            "trace-id: 4bf92f35-77b3-4da6-a3ce-929d0e0e4736 span.id=00f067aa",
            "request failed trace_id=00000000000000000000000000000000 traceid=0000000000000000a1",
            "subtrace_id=4bf92f3577b34da6a3ce929d0e0e4736 x_trace_id=4bf92f3577b34da6 "
                + "traceID=4bf92f3577b34da6_ trace_id = \"4bf92f3577b34da6a\"",
        ];
        const string alphabet = "0aF-_ .:=\"gZtraceidspanTRACEID9\t";
        var rng = new Random(5);
        int withTrace = 0;
        for (int n = 0; n < 20_000; n++)
        {
            var chars = seeds[rng.Next(seeds.Length)].ToCharArray().ToList();
            for (int edits = rng.Next(0, 4); edits > 0; edits--)
            {
                int at = rng.Next(chars.Count + 1);
                switch (rng.Next(3))
                {
                    case 0:
                        chars.Insert(at, alphabet[rng.Next(alphabet.Length)]);
                        break;
                    case 1:
                        if (at < chars.Count)
                            chars.RemoveAt(at);
                        break;
                    default:
                        if (at < chars.Count)
                            chars[at] = alphabet[rng.Next(alphabet.Length)];
                        break;
                }
            }
            var line = new string(chars.ToArray());
            var t = TraceInText().Match(line);
            var s = SpanInText().Match(line);
            (string?, string?) expected = t.Success
                ? (t.Groups[1].Value.ToLowerInvariant(), s.Success ? s.Groups[1].Value.ToLowerInvariant() : null)
                : (null, null);
            Assert.True(
                expected == TraceContext.FromText(line),
                $"line: {line}\nregex: {expected}, scanner: {TraceContext.FromText(line)}"
            );
            if (t.Success)
                withTrace++;
        }
        Assert.InRange(withTrace, 5_000, 19_000); // both outcomes well covered
    }

    [Fact]
    public void LokiStructuredMetadataAndLabelsCarryTraceIds()
    {
        var decoder = new LokiJsonDecoder(new DecodeOptions());
        var records = new List<TelemetryRecord>();
        decoder.Decode(
            """
            {"streams":[{"stream":{"service_name":"cart"},"values":[
              ["1767225600000000000","payment declined",{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}],
              ["1767225600000000001","no context"]]}]}
            """u8,
            records
        );
        var linked = (LogRecord)records[0];
        Assert.Equal(("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"), (linked.TraceId, linked.SpanId));
        Assert.Null(((LogRecord)records[1]).TraceId);
    }

    [Fact]
    public void TheExplanationSaysWhatTheFailingRequestsHadInCommon()
    {
        var sentence = Explainer.TraceSentence("ts-route-service", new TraceEvidence(14, 12, 0.91, 0, 0));
        Assert.Equal(
            "12 of 14 anomalous requests passed through ts-route-service, "
                + "the deepest service common to them; it logged no error itself.",
            sentence
        );
        // a minority says nothing
        Assert.Null(Explainer.TraceSentence("ts-gateway-service", new TraceEvidence(14, 3, 0.2, 0, 5)));
        Assert.Contains(
            "the deepest anomaly was its own",
            Explainer.TraceSentence("ts-basic-service", new TraceEvidence(10, 9, 0.9, 0.8, 9))
        );
    }
}
