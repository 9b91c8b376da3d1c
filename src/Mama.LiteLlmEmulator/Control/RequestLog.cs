using System.Text.Json.Nodes;

namespace Mama.LiteLlmEmulator.Control;

/// <summary>One proxy request as it arrived: method and path with the query string, exactly as a proxy's access log records it.</summary>
public sealed record ProxyRequest(string Method, string Url);

/// <summary>
/// Every proxy request (not /_emulator ones) since the start or the last reset, so tests can show that no URL carried
/// a plaintext key. Bounded: the oldest entries go first, so a long-running emulator does not grow without end.
/// </summary>
public sealed class RequestLog
{
    public const int Capacity = 50_000;

    private readonly Lock _gate = new();
    private readonly Queue<ProxyRequest> _requests = new();

    public IReadOnlyList<ProxyRequest> Snapshot()
    {
        lock (_gate) { return [.. _requests]; }
    }

    public int Count
    {
        get { lock (_gate) { return _requests.Count; } }
    }

    public void Clear()
    {
        lock (_gate) { _requests.Clear(); }
    }

    internal void Record(HttpRequest request)
    {
        var entry = new ProxyRequest(request.Method, request.Path.Value + request.QueryString.Value);
        lock (_gate)
        {
            if (_requests.Count == Capacity) _requests.Dequeue();
            _requests.Enqueue(entry);
        }
    }

    internal JsonObject Describe() => new()
    {
        ["requests"] = new JsonArray([.. Snapshot().Select(r => (JsonNode)new JsonObject { ["method"] = r.Method, ["url"] = r.Url })]),
    };
}
