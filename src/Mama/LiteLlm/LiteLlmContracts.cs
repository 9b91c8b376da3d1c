using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Mama.LiteLlm;

// Wire types of the LiteLLM admin API (shared/litellm/CONTRACT.md). Unknown fields are ignored on read.

public sealed record LiteLlmModel([property: JsonPropertyName("id")] string Id);

public sealed record LiteLlmModelList([property: JsonPropertyName("data")] IReadOnlyList<LiteLlmModel>? Data);

/// <summary>
/// The body of <c>/key/generate</c> and <c>/key/update</c>: mama always sends every field it manages, so the two are one type.
/// <see cref="Key"/> is the plaintext only on generate; an update names the key by its hash (<see cref="KeySpec.ToUpdateRequest"/>).
/// </summary>
public sealed record KeyRequest
{
    [JsonPropertyName("key")] public required string Key { get; init; }
    /// <summary>Null is sent as an explicit <c>null</c>, which LiteLLM writes through: it takes a key off its alias.</summary>
    [JsonPropertyName("key_alias")] public required string? KeyAlias { get; init; }
    [JsonPropertyName("user_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? UserId { get; init; }
    [JsonPropertyName("models")] public required IReadOnlyList<string> Models { get; init; }
    [JsonPropertyName("metadata")] public required JsonObject Metadata { get; init; }
    [JsonPropertyName("blocked")] public bool Blocked { get; init; }
    [JsonPropertyName("key_type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? KeyType { get; init; }
}

/// <summary>What mama reads of a key row: from <c>/key/info</c>'s <c>info</c> or a <c>/key/list</c> full object.</summary>
public sealed class LiteLlmKey
{
    /// <summary>SHA-256 hex of the key. Present in <c>/key/list</c> full objects, absent from <c>/key/info</c>.</summary>
    [JsonPropertyName("token")] public string? Token { get; init; }
    [JsonPropertyName("key_alias")] public string? KeyAlias { get; init; }
    [JsonPropertyName("user_id")] public string? UserId { get; init; }
    [JsonPropertyName("models")] public IReadOnlyList<string>? Models { get; init; }
    [JsonPropertyName("metadata")] public JsonElement Metadata { get; init; }
    [JsonPropertyName("blocked")] public bool? Blocked { get; init; }

    public string? MetadataValue(string name) =>
        Metadata.ValueKind == JsonValueKind.Object && Metadata.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    public bool IsManagedByMama => MetadataValue(KeySpec.ManagedByField) == KeySpec.ManagedByValue;
}

public sealed record KeyInfoResponse([property: JsonPropertyName("info")] LiteLlmKey? Info);

public sealed record KeyListResponse(
    [property: JsonPropertyName("keys")] IReadOnlyList<LiteLlmKey>? Keys,
    [property: JsonPropertyName("total_count")] int? TotalCount,
    [property: JsonPropertyName("current_page")] int? CurrentPage,
    [property: JsonPropertyName("total_pages")] int? TotalPages);

public sealed record DeleteKeyRequest([property: JsonPropertyName("keys")] IReadOnlyList<string> Keys);

/// <summary>
/// What mama wants a user's key to look like on the proxy. <see cref="Owner"/> is the key's <c>user_id</c> (null: none sent),
/// <see cref="KeyType"/> is sent on generate only (LiteLLM's update has no such field).
/// </summary>
public sealed record KeySpec(string Alias, IReadOnlyList<string> Models, string Organization, bool Blocked, string? Owner = null, string? KeyType = null)
{
    public const string ManagedByField = "managed_by";
    public const string ManagedByValue = "mama";
    public const string OrganizationField = "organization";
    /// <summary>On a key a rotation replaced, the user it belonged to (the alias is the new key's now).</summary>
    public const string PreviousOfField = "mama_previous_of";

    /// <summary>The <c>/key/generate</c> body: the only request that carries the plaintext key.</summary>
    public KeyRequest ToGenerateRequest(string key) => new()
    {
        Key = key,
        KeyAlias = Alias,
        UserId = Owner,
        Models = Models,
        Metadata = MergedInto(default),
        Blocked = Blocked,
        KeyType = KeyType,
    };

    /// <summary>
    /// The <c>/key/update</c> body, naming the key by its hash. LiteLLM replaces metadata wholesale, so mama's fields are
    /// set into the key's <paramref name="current"/> metadata: what others put there (tags, notes) survives.
    /// </summary>
    public KeyRequest ToUpdateRequest(string hash, JsonElement current) => new()
    {
        Key = hash,
        KeyAlias = Alias,
        // No owner on update: an adopted key keeps the LiteLLM owner whose budget and limits it has; KeyOwner applies to keys mama creates.
        Models = Models,
        Metadata = MergedInto(current),
        Blocked = Blocked,
    };

    /// <summary>
    /// The <c>/key/update</c> body of a key a rotation replaces: taken off the alias (LiteLLM's aliases are unique, and the
    /// alias belongs to the new key), marked as the user's previous key, and given every edit the current key gets; with the
    /// key's <paramref name="current"/> metadata, what others put there survives the window.
    /// </summary>
    public KeyRequest ToPreviousKeyUpdateRequest(string hash, JsonElement current = default)
    {
        var metadata = MergedInto(current);
        metadata[PreviousOfField] = Alias;
        return new KeyRequest { Key = hash, KeyAlias = null, Models = Models, Metadata = metadata, Blocked = Blocked };
    }

    public JsonObject MergedInto(JsonElement current)
    {
        var metadata = current.ValueKind == JsonValueKind.Object ? JsonObject.Create(current)!.DeepClone().AsObject() : [];
        metadata[ManagedByField] = ManagedByValue;
        metadata[OrganizationField] = Organization;
        return metadata;
    }

    /// <summary>The fields that differ between this spec and the proxy's key, empty when they agree. Of the metadata, only mama's fields count.</summary>
    public IReadOnlyList<string> Differences(LiteLlmKey key)
    {
        var differences = new List<string>();
        if (key.KeyAlias != Alias) differences.Add("key_alias");
        if (!new HashSet<string>(key.Models ?? []).SetEquals(Models)) differences.Add("models");
        if ((key.Blocked ?? false) != Blocked) differences.Add("blocked");
        if (!key.IsManagedByMama || key.MetadataValue(OrganizationField) != Organization) differences.Add("metadata");
        return differences;
    }
}
