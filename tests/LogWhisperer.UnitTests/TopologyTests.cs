using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

public class TopologyTests
{
    [Fact]
    public void OnlineBoutiqueLoadsWithItsRealServicesAndCallGraph()
    {
        var t = TestData.OnlineBoutique();
        Assert.Equal(11, t.Services.Count);
        Assert.Contains("cartservice", t.ServiceNames);
        var edges = t.DeclaredEdges().ToHashSet();
        Assert.Contains(("cartservice", "redis-cart"), edges);
        Assert.Contains(("checkoutservice", "paymentservice"), edges);
        Assert.DoesNotContain(("paymentservice", "checkoutservice"), edges);
        var placeOrder = t.Resolve("checkoutservice/PlaceOrder").Spec;
        Assert.Contains(placeOrder.Calls, c => c.To == "paymentservice/Charge" && c.Retries == 0);
        Assert.Contains(placeOrder.Calls, c => c.To == "emailservice/SendOrderConfirmation" && c.Optional);
    }

    [Fact]
    public void UnknownCallTargetIsAClearError()
    {
        var json =
            """{ "name": "x", "services": { "a": { "operations": { "op": { "calls": ["b/op"] } } } }, "entrypoints": [ { "operation": "a/op" } ] }""";
        var e = Assert.Throws<InvalidDataException>(() => Topology.Parse(json));
        Assert.Contains("unknown service 'b'", e.Message);
    }

    [Fact]
    public void CallCycleIsRejected()
    {
        var json = """
            { "name": "x", "services": {
                "a": { "operations": { "op": { "calls": ["b/op"] } } },
                "b": { "operations": { "op": { "calls": ["a/op"] } } } },
              "entrypoints": [ { "operation": "a/op" } ] }
            """;
        Assert.Contains("cycle", Assert.Throws<InvalidDataException>(() => Topology.Parse(json)).Message);
    }

    [Fact]
    public void UnknownPropertyIsRejectedNotIgnored()
    {
        var json = """{ "name": "x", "services": { "a": { "operationz": {} } }, "entrypoints": [] }""";
        Assert.ThrowsAny<Exception>(() => Topology.Parse(json));
    }

    [Fact]
    public void TopologyRoundTripsThroughJson()
    {
        var t = TestData.OnlineBoutique();
        var again = Topology.Parse(t.ToJson());
        Assert.Equal(t.ServiceNames, again.ServiceNames);
        Assert.Equal(t.DeclaredEdges().OrderBy(e => e).ToArray(), again.DeclaredEdges().OrderBy(e => e).ToArray());
    }
}
