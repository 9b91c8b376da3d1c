using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Keys;

/// <summary>One row of LiteLLM_VerificationToken, kept as JSON so partial updates and nulls behave as in the proxy.</summary>
internal sealed class KeyRow(JsonObject row, string? rawKey, DateTimeOffset createdAt)
{
    public JsonObject Row { get; } = row;
    public string? RawKey { get; } = rawKey;
    public DateTimeOffset CreatedAt { get; } = createdAt;

    public string Token => (string)Row["token"]!;
    public string? KeyAlias => (string?)Row["key_alias"];
    public string? UserId => (string?)Row["user_id"];
    public string? TeamId => (string?)Row["team_id"];
    public string? OrganizationId => (string?)Row["organization_id"];
    public bool IsBlocked => Row["blocked"] is JsonValue v && v.GetValue<bool>();
    public DateTimeOffset? Expires => Formats.ParseTime((string?)Row["expires"]);
    public IReadOnlyList<string> Models => Row["models"] is JsonArray a ? [.. a.Select(m => m?.ToString() ?? "")] : [];

    public static JsonObject NewRow(string token, string? keyName, DateTimeOffset now) => new()
    {
        ["token"] = token,
        ["key_name"] = keyName,
        ["key_alias"] = null,
        ["soft_budget_cooldown"] = false,
        ["spend"] = 0.0m,
        ["expires"] = null,
        ["models"] = new JsonArray(),
        ["aliases"] = new JsonObject(),
        ["config"] = new JsonObject(),
        ["router_settings"] = new JsonObject(),
        ["user_id"] = null,
        ["team_id"] = null,
        ["agent_id"] = null,
        ["project_id"] = null,
        ["permissions"] = new JsonObject(),
        ["max_parallel_requests"] = null,
        ["metadata"] = new JsonObject(),
        ["blocked"] = null,
        ["tpm_limit"] = null,
        ["rpm_limit"] = null,
        ["max_budget"] = null,
        ["budget_duration"] = null,
        ["budget_reset_at"] = null,
        ["allowed_cache_controls"] = new JsonArray(),
        ["allowed_routes"] = new JsonArray(),
        ["policies"] = new JsonArray(),
        ["access_group_ids"] = new JsonArray(),
        ["model_spend"] = new JsonObject(),
        ["model_max_budget"] = new JsonObject(),
        ["budget_id"] = null,
        ["organization_id"] = null,
        ["object_permission_id"] = null,
        ["created_at"] = Formats.DbTime(now),
        ["created_by"] = "default_user_id",
        ["updated_at"] = Formats.DbTime(now),
        ["updated_by"] = "default_user_id",
        ["last_active"] = null,
        ["rotation_count"] = 0,
        ["auto_rotate"] = false,
        ["rotation_interval"] = null,
        ["last_rotation_at"] = null,
        ["key_rotation_at"] = null,
        ["budget_limits"] = null,
        ["litellm_budget_table"] = null,
        ["litellm_organization_table"] = null,
        ["litellm_project_table"] = null,
        ["object_permission"] = null,
        ["jwt_key_mappings"] = null,
    };

    public JsonObject Clone() => (JsonObject)Row.DeepClone();

    public JsonObject CloneWithout(params string[] names)
    {
        var clone = Clone();
        foreach (var name in names)
        {
            clone.Remove(name);
        }
        return clone;
    }
}
