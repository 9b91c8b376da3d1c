using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mama.Observability;

namespace Mama.LiteLlm;

/// <summary>
/// The LiteLLM admin API, one method per endpoint, with the proxy's quirks (CONTRACT §11) absorbed here:
/// callers see "found / not found / gone" instead of LiteLLM's inconsistent status codes.
/// </summary>
public sealed partial class LiteLlmClient(HttpClient http, LiteLlmEndpoint endpoint, MamaMetrics metrics)
{
    // The English words stored as a user's sync error and sent by the REST API; the UI recognises them by these
    // constants to say them in the admin's language (Components/Shared/SyncErrorText.cs).
    public const string NotConfigured = "LiteLLM is not configured.";
    /// <summary>{0}: <see cref="CircuitOpen"/>, <see cref="TimedOut"/> or the name of the network error.</summary>
    public const string UnreachableFormat = "LiteLLM is unreachable ({0}).";
    public const string CircuitOpen = "circuit open after repeated failures";
    public const string TimedOut = "timed out";
    /// <summary>{0}: a <see cref="LiteLlmCall"/>; {1}: the HTTP status; {2}: the proxy's own message, as it came (redacted).</summary>
    public const string RefusedFormat = "LiteLLM refused to {0}: {1} {2}";
    public const string KeyNotFound = "The key does not exist on the LiteLLM proxy.";
    public const string MintedWithoutKey = "LiteLLM minted a key but its answer holds no usable key value.";

    /// <summary>Models the proxy serves now; <c>/v1/models</c>, or <c>/models</c> on proxies without it.</summary>
    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, "v1/models", null, null, ct);
        using var fallback = response.StatusCode == HttpStatusCode.NotFound ? await SendAsync(HttpMethod.Get, "models", null, null, ct) : null;
        var answer = fallback ?? response;
        await EnsureSuccessAsync(answer, LiteLlmCall.ListModels, ct);
        var list = await answer.Content.ReadFromJsonAsync<LiteLlmModelList>(ct);
        return (list?.Data ?? []).Select(m => m.Id).Where(id => !string.IsNullOrEmpty(id)).Distinct().ToList();
    }

    /// <summary>
    /// The key's row, or null when the proxy has no such key (404 now, 401 "does not exist in db" on old proxies). Addressed
    /// by hash: a plaintext key in a query string ends up in every access log between mama and the proxy.
    /// </summary>
    public async Task<LiteLlmKey?> GetKeyByHashAsync(string hash, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, "key/info", "key=" + Uri.EscapeDataString(RequireHash(hash)), null, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (response.StatusCode == HttpStatusCode.Unauthorized && (await ReadErrorAsync(response, ct)).Contains("does not exist in db", StringComparison.OrdinalIgnoreCase)) return null;
        await EnsureSuccessAsync(response, LiteLlmCall.KeyInfo, ct);
        return (await response.Content.ReadFromJsonAsync<KeyInfoResponse>(ct))?.Info;
    }

    /// <summary>Creates the key with mama's own value (the only call that carries it). Not retried by the HTTP pipeline: a lost answer is resolved by the caller's next info call.</summary>
    public async Task GenerateKeyAsync(KeyRequest request, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, "key/generate", null, request, ct);
        await EnsureSuccessAsync(response, LiteLlmCall.GenerateKey, ct);
    }

    /// <summary>
    /// Replaces the key's alias, models, metadata and blocked flag; the request names the key by its hash
    /// (<see cref="KeySpec.ToUpdateRequest"/>). Throws <see cref="LiteLlmKeyNotFoundException"/> when the key is gone.
    /// </summary>
    public async Task UpdateKeyByHashAsync(KeyRequest request, CancellationToken ct)
    {
        RequireHash(request.Key);
        using var response = await SendAsync(HttpMethod.Post, "key/update", null, request, ct);
        // LiteLLM answers an unknown key on update with 401 (its DB helper raises it), not 404.
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound
            && (await ReadErrorAsync(response, ct)).Contains("does not exist in db", StringComparison.OrdinalIgnoreCase))
            throw new LiteLlmKeyNotFoundException();
        await EnsureSuccessAsync(response, LiteLlmCall.UpdateKey, ct);
    }

    /// <summary>Deletes one key by its hash; true if it was there, false if it was already gone. Either way it is gone afterwards.</summary>
    public async Task<bool> DeleteKeyByHashAsync(string hash, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, "key/delete", null, new DeleteKeyRequest([RequireHash(hash)]), ct);
        if (response.IsSuccessStatusCode) return true;
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        // Proxies before ~v1.56 answer a missing key with 400 "Not all keys passed in were deleted".
        if (response.StatusCode == HttpStatusCode.BadRequest && (await ReadErrorAsync(response, ct)).Contains("Not all keys passed in were deleted", StringComparison.OrdinalIgnoreCase)) return false;
        await EnsureSuccessAsync(response, LiteLlmCall.DeleteKey, ct);
        return true;
    }

    /// <summary>
    /// LiteLLM treats a value starting with <c>sk-</c> as a plaintext key and hashes it, anything else as the hash itself;
    /// refusing a plaintext here keeps a mix-up from ever reaching a URL or a log.
    /// </summary>
    private static string RequireHash(string hash) =>
        string.IsNullOrEmpty(hash) || hash.StartsWith("sk-", StringComparison.Ordinal)
            ? throw new ArgumentException("A key hash is expected here, not a key.", nameof(hash))
            : hash;

    /// <summary>Every key on the proxy as full objects, page by page (the master key's own row included).</summary>
    public async IAsyncEnumerable<LiteLlmKey> ListKeysAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        const int size = 100;
        for (var page = 1; ; page++)
        {
            using var response = await SendAsync(HttpMethod.Get, "key/list", $"return_full_object=true&page={page}&size={size}", null, ct);
            await EnsureSuccessAsync(response, LiteLlmCall.ListKeys, ct);
            var list = await response.Content.ReadFromJsonAsync<KeyListResponse>(ct);
            var keys = list?.Keys ?? [];
            foreach (var key in keys) yield return key;
            if (keys.Count < size || page >= (list?.TotalPages ?? page)) yield break;
        }
    }

    public async Task<bool> IsAliveAsync(CancellationToken ct)
    {
        try
        {
            using var response = await SendAsync(HttpMethod.Get, "health/liveliness", null, null, ct);
            return response.IsSuccessStatusCode;
        }
        catch (LiteLlmException)
        {
            return false;
        }
    }

    /// <summary>LiteLLM stores and compares keys by the lowercase hex SHA-256 of the raw key.</summary>
    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <param name="path">One of a few constant paths, also the metric's endpoint tag; the query (which may hold a key hash) goes apart.</param>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? query, object? body, CancellationToken ct)
    {
        var baseUrl = endpoint.BaseUrl ?? throw new LiteLlmException(NotConfigured, null, transient: false);
        using var request = new HttpRequestMessage(method, new Uri(baseUrl, query is null ? path : path + "?" + query));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.MasterKey);
        request.Headers.UserAgent.ParseAdd("mama/1.0");
        if (body is not null) request.Content = Json(body);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            var status = (int)response.StatusCode;
            metrics.LiteLlmCalled(path, status, status is 429 or >= 500 ? StatusNames.Of(status) : null, Stopwatch.GetElapsedTime(started));
            return response;
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException
                                  || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            metrics.LiteLlmCalled(path, null, e is HttpRequestException ? "unreachable" : e is Polly.CircuitBreaker.BrokenCircuitException ? "circuit_open" : "timeout",
                Stopwatch.GetElapsedTime(started));
            throw new LiteLlmException(string.Format(CultureInfo.InvariantCulture, UnreachableFormat, Describe(e)), null, transient: true);
        }
    }

    /// <summary>
    /// The body as buffered bytes, so it goes out with a Content-Length: JsonContent streams it chunked, which gateways
    /// and WAFs in front of LiteLLM often refuse (411). Buffered content can also be sent again by a retry.
    /// </summary>
    private static ByteArrayContent Json(object body)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), JsonSerializerOptions.Web));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private static string Describe(Exception e) => e switch
    {
        Polly.CircuitBreaker.BrokenCircuitException => CircuitOpen,
        Polly.Timeout.TimeoutRejectedException or TimeoutException or OperationCanceledException => TimedOut,
        HttpRequestException { HttpRequestError: var error } => error.ToString(),
        _ => e.GetType().Name,
    };

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var message = await ReadErrorAsync(response, ct);
        var status = (int)response.StatusCode;
        throw new LiteLlmException(string.Format(CultureInfo.InvariantCulture, RefusedFormat, what, status, message), status,
            transient: status is 408 or 429 or >= 500);
    }

    /// <summary>The error text of either envelope (<c>{"error":{"message"}}</c> or FastAPI's <c>{"detail"}</c>), with keys redacted. Never JSON-parses the message: it may be a Python dict repr.</summary>
    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
                text = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var message) ? message.ToString() : error.ToString();
            else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("detail", out var detail))
                text = detail.ToString();
        }
        catch (JsonException)
        {
        }
        text = Redact(text);
        return text.Length > 300 ? text[..300] + "…" : text;
    }

    /// <summary>Removes anything shaped like a key or a key hash from text that may reach a log or an error message.</summary>
    public static string Redact(string text) => HashPattern().Replace(KeyPattern().Replace(text, "sk-***"), "<hash>");

    [GeneratedRegex(@"sk-[^\s""'<>,;\]\}\)]{4,}")]
    private static partial Regex KeyPattern();

    [GeneratedRegex(@"\b[0-9a-f]{64}\b")]
    private static partial Regex HashPattern();
}

/// <summary>A failed call to LiteLLM. The message never holds a key; <see cref="Transient"/> says whether a retry may succeed.</summary>
public class LiteLlmException(string message, int? status, bool transient) : Exception(message)
{
    public int? Status { get; } = status;
    public bool Transient { get; } = transient;
}

public sealed class LiteLlmKeyNotFoundException() : LiteLlmException(LiteLlmClient.KeyNotFound, 401, transient: false);

/// <summary>Where the proxy is: configured, or the hosted emulator's address once it has started.</summary>
public sealed class LiteLlmEndpoint
{
    public Uri? BaseUrl { get; set; }
    public string? MasterKey { get; set; }
}

/// <summary>What mama asked the proxy to do, as said in <see cref="LiteLlmClient.RefusedFormat"/>.</summary>
public static class LiteLlmCall
{
    public const string ListModels = "list models";
    public const string KeyInfo = "key info";
    public const string GenerateKey = "generate key";
    public const string UpdateKey = "update key";
    public const string DeleteKey = "delete key";
    public const string ListKeys = "list keys";
    public const string MintKey = "mint key";
    public const string ReadModelInfo = "read model info";
    public const string ReportReadiness = "report readiness";

    public static readonly IReadOnlyList<string> All =
        [ListModels, KeyInfo, GenerateKey, UpdateKey, DeleteKey, ListKeys, MintKey, ReadModelInfo, ReportReadiness];
}
