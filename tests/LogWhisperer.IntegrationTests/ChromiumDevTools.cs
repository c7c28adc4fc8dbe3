using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LogWhisperer.Tests;

/// <summary>
/// Headless Chromium driven over the Chrome DevTools Protocol, for what --dump-dom cannot show: real key presses
/// (Input.dispatchKeyEvent) and where the focus is afterwards. Chromium writes its debugging port to
/// DevToolsActivePort in its profile; the page's WebSocket comes from /json/list.
/// </summary>
internal sealed class ChromiumDevTools : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly Process _chromium;
    private readonly ClientWebSocket _socket = new();
    private int _nextId;

    private ChromiumDevTools(Process chromium) => _chromium = chromium;

    public static async Task<ChromiumDevTools> OpenAsync(string url)
    {
        var profile = TestData.TempDir();
        var psi = new ProcessStartInfo("chromium") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (
            var a in new[]
            {
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                $"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--window-size=1280,1400",
                url,
            }
        )
            psi.ArgumentList.Add(a);
        var chromium = Process.Start(psi)!;
        chromium.OutputDataReceived += (_, _) => { };
        chromium.ErrorDataReceived += (_, _) => { };
        chromium.BeginOutputReadLine();
        chromium.BeginErrorReadLine();
        var tools = new ChromiumDevTools(chromium);
        try
        {
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            string? socketUrl = null;
            using var http = new HttpClient();
            await TestData.WaitUntilAsync(
                async () =>
                {
                    if (chromium.HasExited)
                        return true;
                    if (File.Exists(portFile) && File.ReadAllLines(portFile) is [var port, ..] && port.Length > 0)
                    {
                        var targets = JsonNode
                            .Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!
                            .AsArray();
                        socketUrl = targets
                            .FirstOrDefault(t => (string?)t!["type"] == "page")
                            ?["webSocketDebuggerUrl"]?.GetValue<string>();
                    }
                    return socketUrl is not null;
                },
                TestData.Generous
            );
            if (socketUrl is null)
                throw new TimeoutException($"no DevTools page from chromium (exited: {chromium.HasExited})");
            await tools._socket.ConnectAsync(new Uri(socketUrl), new CancellationTokenSource(Deadline).Token);
            // focus behaves as in a focused window
            await tools.SendAsync("Emulation.setFocusEmulationEnabled", new { enabled = true });
            return tools;
        }
        catch
        {
            await tools.DisposeAsync();
            throw;
        }
    }

    /// <summary>One DevTools command; its result (events and other replies that arrive meanwhile are
    /// skipped).</summary>
    public async Task<JsonNode?> SendAsync(string method, object? parameters = null)
    {
        int id = ++_nextId;
        using var timeout = new CancellationTokenSource(Deadline);
        var request = JsonSerializer.SerializeToUtf8Bytes(
            new
            {
                id,
                method,
                @params = parameters ?? new { },
            }
        );
        await _socket.SendAsync(request, WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await _socket.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, received.Count);
            } while (!received.EndOfMessage);
            var reply = JsonNode.Parse(Encoding.UTF8.GetString(message.ToArray()))!;
            if ((int?)reply["id"] != id)
                continue;
            if (reply["error"] is { } error)
                throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"];
        }
    }

    /// <summary>A JavaScript expression's value in the page.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync(
            "Runtime.evaluate",
            new
            {
                expression,
                returnByValue = true,
                awaitPromise = true,
            }
        );
        if (result?["exceptionDetails"] is { } exception)
            throw new InvalidOperationException($"{expression}: {exception.ToJsonString()}");
        return result?["result"]?["value"];
    }

    /// <summary>Polls <paramref name="expression"/> until it is true, within a generous deadline (an upper bound
    /// only).</summary>
    public async Task WaitForAsync(string expression)
    {
        if (
            !await TestData.WaitUntilAsync(
                async () => (bool?)await EvaluateAsync(expression) ?? false,
                TestData.Generous
            )
        )
            throw new TimeoutException($"never true: {expression}");
    }

    /// <summary>Presses and releases a key as a keyboard would: Tab, Shift+Tab, Enter or Space.</summary>
    public async Task PressAsync(string key, bool shift = false)
    {
        var (code, keyCode, text) = key switch
        {
            "Tab" => ("Tab", 9, ""),
            "Enter" => ("Enter", 13, "\r"),
            " " => ("Space", 32, " "),
            _ => throw new ArgumentException($"no key {key}", nameof(key)),
        };
        int modifiers = shift ? 8 : 0;
        await SendAsync(
            "Input.dispatchKeyEvent",
            new
            {
                type = text.Length > 0 ? "keyDown" : "rawKeyDown",
                key,
                code,
                windowsVirtualKeyCode = keyCode,
                text,
                modifiers,
            }
        );
        await SendAsync(
            "Input.dispatchKeyEvent",
            new
            {
                type = "keyUp",
                key,
                code,
                windowsVirtualKeyCode = keyCode,
                modifiers,
            }
        );
    }

    /// <summary>Presses Tab until <paramref name="expression"/> holds for the focused element (document.activeElement
    /// as `e`); false if it never does.</summary>
    public async Task<bool> TabUntilAsync(string expression, int most = 60)
    {
        for (int i = 0; i < most; i++)
        {
            await PressAsync("Tab");
            if ((bool?)await EvaluateAsync($"(e => !!e && ({expression}))(document.activeElement)") ?? false)
                return true;
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        try
        {
            if (!_chromium.HasExited)
                _chromium.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        await _chromium.WaitForExitAsync();
        _chromium.Dispose();
    }
}
