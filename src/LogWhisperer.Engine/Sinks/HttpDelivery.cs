using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogWhisperer.Sinks;

/// <summary>How an HTTP sink delivers: attempts, backoff between them, and the per-request timeout.</summary>
public sealed record DeliveryOptions
{
    /// <summary>Further attempts after a failed one (5xx, 408, 429, connection error, timeout). 4xx are not retried.</summary>
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
/// POSTs JSON bodies to one HTTP endpoint with retries and exponential backoff. A delivery that still fails
/// is counted and logged, never thrown: an unreachable alert router must not stop the engine. Logs name the
/// endpoint by scheme, host and port only — webhook paths (Slack) and headers carry secrets.
/// </summary>
public sealed class HttpDelivery : IDisposable
{
    private readonly HttpClient _http;
    private readonly DeliveryOptions _options;
    private readonly ILogger _log;
    private readonly string _name;
    private long _delivered, _failed, _retried;

    public HttpDelivery(string name, DeliveryOptions options, ILogger? log = null, HttpMessageHandler? handler = null)
    {
        _name = name;
        _options = options;
        _log = log ?? NullLogger.Instance;
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.Timeout = options.Timeout;
    }

    /// <summary>Requests answered 2xx.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);
    /// <summary>Requests given up on (after the retries, or refused with a 4xx).</summary>
    public long Failed => Interlocked.Read(ref _failed);
    /// <summary>Attempts repeated after a retryable failure.</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <returns>Whether the endpoint accepted the body.</returns>
    public async Task<bool> PostJsonAsync(Uri url, string json, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? extraHeaders = null)
    {
        var backoff = _options.InitialBackoff;
        for (int attempt = 0; ; attempt++)
        {
            string failure;
            bool retryable;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                foreach (var (k, v) in _options.Headers) request.Headers.TryAddWithoutValidation(k, v);
                if (extraHeaders is not null) foreach (var (k, v) in extraHeaders) request.Headers.TryAddWithoutValidation(k, v);
                if (_options.BearerToken is { Length: > 0 } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await _http.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode) { Interlocked.Increment(ref _delivered); return true; }
                failure = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
                retryable = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            }
            catch (HttpRequestException e) { failure = e.Message; retryable = true; }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { failure = $"no answer within {_options.Timeout.TotalSeconds:0.#} s"; retryable = true; }

            if (!retryable || attempt >= _options.Retries)
            {
                Interlocked.Increment(ref _failed);
                _log.LogWarning("{Sink}: delivery to {Endpoint} failed after {Attempts} attempt(s): {Failure}", _name, Endpoint(url), attempt + 1, failure);
                return false;
            }
            Interlocked.Increment(ref _retried);
            _log.LogDebug("{Sink}: {Endpoint} answered {Failure}; retrying in {Backoff} ms", _name, Endpoint(url), failure, backoff.TotalMilliseconds);
            await Task.Delay(backoff, cancellationToken);
            backoff *= 2;
        }
    }

    public override string ToString() => $"{_name}: {Delivered} delivered, {Failed} failed, {Retried} retried";

    private static string Endpoint(Uri url) => url.GetLeftPart(UriPartial.Authority);

    public void Dispose() => _http.Dispose();
}
