using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mama.LiteLlm;

// The calls of proxy-minted keys (KeyMinting): a generate without a key value, and the keys held under one alias.
public sealed partial class LiteLlmClient
{
    /// <summary>
    /// Asks the proxy to mint the key (the request without its <c>key</c>) and returns the value, which the proxy
    /// shows only in this answer. Not retried: a lost answer leaves a key under the alias that the caller's recovery removes.
    /// </summary>
    public async Task<string> MintKeyAsync(KeyRequest request, CancellationToken ct)
    {
        var body = JsonSerializer.SerializeToNode(request, request.GetType(), JsonSerializerOptions.Web)!.AsObject();
        body.Remove("key");
        using var response = await SendAsync(HttpMethod.Post, "key/generate", null, body, ct);
        await EnsureSuccessAsync(response, LiteLlmCall.MintKey, ct);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(ct);
        return answer?["key"] is JsonValue value && value.TryGetValue<string>(out var key) && key.StartsWith("sk-", StringComparison.Ordinal) && key.Length >= 8
            ? key
            : throw new LiteLlmException(MintedWithoutKey, (int)response.StatusCode, transient: false);
    }

    /// <summary>The keys whose alias is exactly <paramref name="alias"/>, every page (the filter is re-checked here: newer proxies may match loosely).</summary>
    public async Task<IReadOnlyList<LiteLlmKey>> KeysWithAliasAsync(string alias, CancellationToken ct)
    {
        const int size = 100;
        var found = new List<LiteLlmKey>();
        for (var page = 1; ; page++)
        {
            using var response = await SendAsync(HttpMethod.Get, "key/list", $"return_full_object=true&size={size}&page={page}&key_alias=" + Uri.EscapeDataString(alias), null, ct);
            await EnsureSuccessAsync(response, LiteLlmCall.ListKeys, ct);
            var list = await response.Content.ReadFromJsonAsync<KeyListResponse>(ct);
            var keys = list?.Keys ?? [];
            found.AddRange(keys.Where(k => k.KeyAlias == alias && k.Token is { Length: > 0 }));
            if (keys.Count < size || page >= (list?.TotalPages ?? page)) return found;
        }
    }
}
