using LogWhisperer.Observability;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;
using LogWhisperer.Windowing;

namespace LogWhisperer.Tests;

/// <summary>
/// A service's error lines about itself, apart from the ones that report on a peer: the root of a bad deploy
/// writes "Get Route By Ids Failed", its callers write "No instances available for ts-basic-service".
/// </summary>
public class OwnErrorLineTests
{
    [Theory]
    [InlineData("ERROR [getRoutesByRouteIds][Get Route By Ids Failed]", false)]
    [InlineData("IllegalStateException: No instances available for ts-basic-service]", true)]
    [InlineData("GET http://ts-route-service:11178/api/v1/routes failed: 500", true)]
    [InlineData("dial tcp ts-route-service.default.svc.cluster.local:11178: connection refused", true)]
    [InlineData("ts-travel-service: could not parse the trip id", false)] // its own name is not a peer
    [InlineData("ts-route-service-client timed out", false)] // a longer token is another word
    public void ALineReportsOnAPeerOnlyWhenItNamesAnotherServiceOfTheMesh(string message, bool namesPeer)
    {
        var names = new ServiceNames();
        foreach (var s in new[] { "ts-travel-service", "ts-basic-service", "ts-route-service" })
            names.Observe(s);
        Assert.Equal(namesPeer, names.NamesAnother(message, "ts-travel-service"));
    }

    [Fact]
    public void TheWindowCountsErrorLinesAboutTheServiceItselfApartFromReportsOnPeers()
    {
        long t0 = new Simulation.SimulationOptions().StartMs;
        var windower = new EventTimeWindower(new WindowOptions(), new PipelineCounters(), new MemoryDeadLetterSink());
        var closed = new List<WindowAggregate>();
        windower.Add(
            [
                new SpanRecord(t0, "c", "travel", "t1", "s1", null, "/trips", SpanKind.Client, "basic", 10, true),
                new LogRecord(
                    t0 + 1,
                    "c",
                    "basic",
                    LogSeverity.Error,
                    "[getRoutesByRouteIds][Get Route By Ids Failed]"
                ),
                new LogRecord(
                    t0 + 2,
                    "c",
                    "basic",
                    LogSeverity.Error,
                    "[getRoutesByRouteIds][Get Route By Ids Failed]"
                ),
                new LogRecord(
                    t0 + 3,
                    "c",
                    "travel",
                    LogSeverity.Error,
                    "Request processing failed: No instances available for basic"
                ),
                new LogRecord(t0 + 4, "c", "travel", LogSeverity.Warn, "retrying: slow answer"),
            ],
            closed
        );
        windower.Flush(closed);
        var window = Assert.Single(closed);
        Assert.Equal((2, 2), (window.Services["basic"].ErrorLogs, window.Services["basic"].OwnErrorLogs));
        Assert.Equal((1, 0), (window.Services["travel"].ErrorLogs, window.Services["travel"].OwnErrorLogs));
        // It travels between the two stages of the split topology.
        var decoded = ServiceWindowCodec.Decode(
            ServiceWindowCodec.Encode(
                new ServiceWindow(
                    "c",
                    window.StartMs,
                    window.EndMs,
                    "basic",
                    window.Services["basic"],
                    new Dictionary<string, EdgeWindowStats>()
                )
            )
        );
        Assert.Equal(2, decoded.Stats.OwnErrorLogs);
    }
}
