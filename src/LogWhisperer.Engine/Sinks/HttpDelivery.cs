using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Timeout;

namespace LogWhisperer.Sinks;

/// <summary>How an HTTP sink delivers: attempts, backoff between them, and the per-request timeout.</summary>
public sealed record DeliveryOptions
{
    /// <summary>Further attempts after a failed one (5xx, 408, 429, connection error, timeout). 4xx are not
    /// retried.</summary>
    public int Retries { get; init; } = 3;

    /// <summary>Wait before the first retry; doubled before each next one.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Extra request headers (e.g. an API gateway's key).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Sent as <c>Authorization: Bearer …</c> when set; never logged.</summary>
    public string? BearerToken { get; init; }
}

/// <summary>An alert sink that delivers over HTTP; its delivery counters go into the command's summary.</summary>
public interface IHttpRcaSink : IRcaSink, IDisposable
{
    HttpDelivery Delivery { get; }
}

/// <summary>
/// POSTs JSON bodies to one HTTP endpoint through a Microsoft.Extensions.Http.Resilience pipeline (Polly): a
/// per-attempt timeout, and retries with exponential backoff of what is transient (5xx, 408, 429, connection
/// errors, timeouts; 4xx are final). A delivery that still fails is counted and logged, never thrown: an
/// unreachable alert router must not stop the engine. Logs name the endpoint by scheme, host and port only —
/// webhook paths (Slack) and headers carry secrets.
/// </summary>
public sealed class HttpDelivery : IDisposable
{
    private readonly HttpClient _http;
    private readonly DeliveryOptions _options;
    private readonly ILogger _log;
    private readonly string _name;
    private long _delivered,
        _failed,
        _retried;

    public HttpDelivery(string name, DeliveryOptions options, ILogger? log = null, HttpMessageHandler? handler = null)
    {
        _name = name;
        _options = options;
        _log = log ?? NullLogger.Instance;
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (options.Retries > 0)
            pipeline.AddRetry(
                new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.Retries,
                    Delay = options.InitialBackoff,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = false,
                    OnRetry = args =>
                    {
                        Interlocked.Increment(ref _retried);
                        _log.LogDebug(
                            "{Sink}: {Failure}; retrying in {Backoff} ms",
                            _name,
                            Describe(args.Outcome),
                            args.RetryDelay.TotalMilliseconds
                        );
                        return default;
                    },
                }
            );
        pipeline.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = options.Timeout }); // per attempt
        _http = new HttpClient(
            new ResilienceHandler(pipeline.Build()) { InnerHandler = handler ?? new SocketsHttpHandler() }
        )
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan, // the pipeline's per-attempt timeout rules
        };
    }

    /// <summary>Requests answered 2xx.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Requests given up on (after the retries, or refused with a 4xx).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Attempts repeated after a retryable failure.</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <returns>Whether the endpoint accepted the body.</returns>
    public async Task<bool> PostJsonAsync(
        Uri url,
        string json,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? extraHeaders = null
    )
    {
        long retriedBefore = Retried;
        string failure;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent(json, Encoding.UTF8, "application/json"),
            };
            foreach (var (k, v) in _options.Headers)
                request.Headers.TryAddWithoutValidation(k, v);
            if (extraHeaders is not null)
                foreach (var (k, v) in extraHeaders)
                    request.Headers.TryAddWithoutValidation(k, v);
            if (_options.BearerToken is { Length: > 0 } token)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await _http.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref _delivered);
                return true;
            }
            failure = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (HttpRequestException e)
        {
            failure = e.Message;
        }
        catch (TimeoutRejectedException)
        {
            failure = $"no answer within {_options.Timeout.TotalSeconds:0.#} s";
        }
        Interlocked.Increment(ref _failed);
        _log.LogWarning(
            "{Sink}: delivery to {Endpoint} failed after {Attempts} attempt(s): {Failure}",
            _name,
            Endpoint(url),
            1 + Retried - retriedBefore,
            failure
        );
        return false;
    }

    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Result is { } r
            ? $"{Endpoint(r.RequestMessage?.RequestUri)} answered HTTP {(int)r.StatusCode} {r.ReasonPhrase}"
        : outcome.Exception is TimeoutRejectedException ? "no answer in time"
        : outcome.Exception?.Message ?? "failed";

    public override string ToString() => $"{_name}: {Delivered} delivered, {Failed} failed, {Retried} retried";

    private static string Endpoint(Uri? url) => url?.GetLeftPart(UriPartial.Authority) ?? "(endpoint)";

    public void Dispose() => _http.Dispose();
}
