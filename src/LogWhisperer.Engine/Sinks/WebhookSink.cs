using LogWhisperer.Explain;
using Microsoft.Extensions.Logging;

namespace LogWhisperer.Sinks;

/// <summary>
/// POSTs every RCA event, as its v1 JSON (the schema in Explain/Schemas), to one URL: the generic way into
/// tools LogWhisperer has no dedicated sink for. Headers and a bearer token come from <see cref="DeliveryOptions"/>.
/// </summary>
public sealed class WebhookSink(
    Uri url,
    DeliveryOptions delivery,
    ILogger? log = null,
    HttpMessageHandler? handler = null
) : IHttpRcaSink
{
    public HttpDelivery Delivery { get; } = new("webhook", delivery, log, handler);

    public async ValueTask WriteAsync(RcaEvent rca, CancellationToken cancellationToken) =>
        await Delivery.PostJsonAsync(url, rca.ToJson(), cancellationToken);

    public void Dispose() => Delivery.Dispose();
}
