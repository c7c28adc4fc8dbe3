using LogWhisperer.Sinks;

namespace LogWhisperer.Tests;

/// <summary>Alert and webhook deliveries on the Microsoft.Extensions.Http.Resilience pipeline.</summary>
public class HttpDeliveryTests
{
    [Fact]
    public async Task ABusyEndpointsRetryAfterIsHonouredNotOurOwnShorterBackoff()
    {
        await using var server = await CapturingHttpServer.StartAsync();
        server.Respond = n => n == 0 ? 429 : 204;
        server.RetryAfter = n => n == 0 ? 2 : null; // "come back in 2 s"
        using var delivery = new HttpDelivery(
            "webhook",
            new DeliveryOptions { Retries = 3, InitialBackoff = TimeSpan.FromMilliseconds(10) }
        );

        Assert.True(await delivery.PostJsonAsync(server.Url, "{}", CancellationToken.None));
        Assert.Equal((1, 0, 1), (delivery.Delivered, delivery.Failed, delivery.Retried));
        var at = server.ReceivedAt;
        Assert.Equal(2, at.Count);
        // Before: the hand-written loop came back after its own 10 ms backoff, ignoring the header.
        Assert.True(
            at[1] - at[0] >= TimeSpan.FromSeconds(1.5),
            $"retried after {(at[1] - at[0]).TotalMilliseconds:0} ms"
        );
    }

    [Fact]
    public async Task EachAttemptHasItsOwnTimeoutAndAnUnreachableEndpointIsCountedNotThrown()
    {
        using var delivery = new HttpDelivery(
            "webhook",
            new DeliveryOptions
            {
                Retries = 2,
                InitialBackoff = TimeSpan.FromMilliseconds(10),
                Timeout = TimeSpan.FromSeconds(2),
            }
        );
        var nowhere = new Uri($"http://127.0.0.1:{TestData.FreePort()}/hook");
        Assert.False(await delivery.PostJsonAsync(nowhere, "{}", CancellationToken.None));
        Assert.Equal((0, 1, 2), (delivery.Delivered, delivery.Failed, delivery.Retried));
    }
}
