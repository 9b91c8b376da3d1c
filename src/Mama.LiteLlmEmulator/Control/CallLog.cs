using System.Text.Json;
using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Control;

/// <summary>What one key was asked for: requests naming it, keys generated for it, and the most requests in flight at once.</summary>
public sealed record KeyCalls(string Token, string? KeyAlias, int Calls, int Generated, int MaxInFlight);

/// <summary>
/// Counts the proxy requests that name a key (info, generate, update, delete, block), per key, from the moment the
/// request arrives (injected latency included) until it is answered or aborted: so tests of several clients can show
/// that no key was generated twice and that no two clients worked on one key at the same time.
/// </summary>
public sealed class CallLog
{
    private static readonly HashSet<string> KeyRoutes = new(StringComparer.Ordinal)
    {
        "/key/info", "/key/generate", "/key/update", "/key/delete", "/key/block", "/key/unblock",
    };

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _keys = new(StringComparer.Ordinal);

    public IReadOnlyList<KeyCalls> Snapshot()
    {
        lock (_gate)
        {
            return [.. _keys.Select(p => new KeyCalls(p.Key, p.Value.Alias, p.Value.Calls, p.Value.Generated, p.Value.MaxInFlight))];
        }
    }

    public void Clear()
    {
        lock (_gate) { _keys.Clear(); }
    }

    internal JsonObject Describe() => new()
    {
        ["keys"] = new JsonArray([.. Snapshot().Select(k => (JsonNode)new JsonObject
        {
            ["token"] = k.Token,
            ["key_alias"] = k.KeyAlias,
            ["calls"] = k.Calls,
            ["generated"] = k.Generated,
            ["max_in_flight"] = k.MaxInFlight,
        })]),
    };

    /// <summary>Runs the request, counted against every key it names; <paramref name="next"/> says whether the handler ran (no fault cut it short).</summary>
    internal async Task TrackAsync(HttpContext context, Func<Task<bool>> next)
    {
        var path = context.Request.Path.Value ?? "";
        if (!KeyRoutes.Contains(path))
        {
            await next();
            return;
        }
        var (tokens, alias) = await KeysOfAsync(context.Request);
        Enter(tokens, alias);
        try
        {
            if (await next() && path == "/key/generate" && context.Response.StatusCode == StatusCodes.Status200OK) Generated(tokens);
        }
        finally
        {
            Leave(tokens);
        }
    }

    private void Enter(List<string> tokens, string? alias)
    {
        lock (_gate)
        {
            foreach (var token in tokens)
            {
                if (!_keys.TryGetValue(token, out var entry)) _keys[token] = entry = new Entry();
                entry.Calls++;
                entry.InFlight++;
                entry.MaxInFlight = Math.Max(entry.MaxInFlight, entry.InFlight);
                entry.Alias = alias ?? entry.Alias;
            }
        }
    }

    private void Leave(List<string> tokens)
    {
        lock (_gate)
        {
            foreach (var token in tokens)
                if (_keys.TryGetValue(token, out var entry)) entry.InFlight--;
        }
    }

    private void Generated(List<string> tokens)
    {
        lock (_gate)
        {
            foreach (var token in tokens)
                if (_keys.TryGetValue(token, out var entry)) entry.Generated++;
        }
    }

    /// <summary>The keys a request names: <c>?key=</c>, or <c>key</c> / <c>keys</c> in the JSON body (read, then rewound for the handler).</summary>
    private static async Task<(List<string> Tokens, string? Alias)> KeysOfAsync(HttpRequest request)
    {
        var tokens = new List<string>();
        if (request.Query["key"].ToString() is { Length: > 0 } queried) tokens.Add(Formats.HashIfNeeded(queried));
        if (!HttpMethods.IsPost(request.Method)) return (tokens, null);
        request.EnableBuffering();
        JsonNode? body = null;
        try
        {
            body = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
        }
        catch (JsonException)
        {
            // Not JSON: the handler answers that; nothing to count.
        }
        request.Body.Position = 0;
        if (body is not JsonObject json) return (tokens, null);
        if (json["key"] is JsonValue key && key.TryGetValue<string>(out var one)) tokens.Add(Formats.HashIfNeeded(one));
        if (json["keys"] is JsonArray keys)
            foreach (var item in keys)
                if (item is JsonValue value && value.TryGetValue<string>(out var each)) tokens.Add(Formats.HashIfNeeded(each));
        var alias = json["key_alias"] is JsonValue a && a.TryGetValue<string>(out var s) ? s : null;
        return (tokens.Distinct(StringComparer.Ordinal).ToList(), alias);
    }

    private sealed class Entry
    {
        public string? Alias;
        public int Calls;
        public int Generated;
        public int InFlight;
        public int MaxInFlight;
    }
}
