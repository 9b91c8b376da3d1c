using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Keys;

/// <summary>The request models of CONTRACT §3.1/§4.1/§5.1; anything not listed is ignored like pydantic's extra="ignore".</summary>
internal static class KeyFields
{
    public static readonly IReadOnlyDictionary<string, FieldKind> Generate = new Dictionary<string, FieldKind>
    {
        ["key"] = FieldKind.Str,
        ["key_alias"] = FieldKind.Str,
        ["duration"] = FieldKind.Str,
        ["models"] = FieldKind.List,
        ["spend"] = FieldKind.Float,
        ["max_budget"] = FieldKind.Float,
        ["soft_budget"] = FieldKind.Float,
        ["user_id"] = FieldKind.Str,
        ["team_id"] = FieldKind.Str,
        ["agent_id"] = FieldKind.Str,
        ["organization_id"] = FieldKind.Str,
        ["project_id"] = FieldKind.Str,
        ["max_parallel_requests"] = FieldKind.Int,
        ["metadata"] = FieldKind.Dict,
        ["tpm_limit"] = FieldKind.Int,
        ["rpm_limit"] = FieldKind.Int,
        ["budget_duration"] = FieldKind.Str,
        ["allowed_cache_controls"] = FieldKind.List,
        ["config"] = FieldKind.Dict,
        ["permissions"] = FieldKind.Dict,
        ["model_max_budget"] = FieldKind.Dict,
        ["model_rpm_limit"] = FieldKind.Dict,
        ["model_tpm_limit"] = FieldKind.Dict,
        ["guardrails"] = FieldKind.StrList,
        ["policies"] = FieldKind.StrList,
        ["prompts"] = FieldKind.StrList,
        ["blocked"] = FieldKind.Bool,
        ["aliases"] = FieldKind.Dict,
        ["object_permission"] = FieldKind.Dict,
        ["budget_id"] = FieldKind.Str,
        ["tags"] = FieldKind.StrList,
        ["enforced_params"] = FieldKind.StrList,
        ["allowed_routes"] = FieldKind.List,
        ["allowed_passthrough_routes"] = FieldKind.List,
        ["allowed_vector_store_indexes"] = FieldKind.List,
        ["rpm_limit_type"] = FieldKind.Str,
        ["tpm_limit_type"] = FieldKind.Str,
        ["router_settings"] = FieldKind.Dict,
        ["access_group_ids"] = FieldKind.StrList,
        ["key_type"] = FieldKind.Str,
        ["auto_rotate"] = FieldKind.Bool,
        ["rotation_interval"] = FieldKind.Str,
        ["send_invite_email"] = FieldKind.Bool,
        ["temp_budget_increase"] = FieldKind.Float,
        ["temp_budget_expiry"] = FieldKind.Str,
    };

    public static readonly IReadOnlyDictionary<string, FieldKind> Update = Generate;

    public static readonly IReadOnlyDictionary<string, FieldKind> Delete = new Dictionary<string, FieldKind>
    {
        ["keys"] = FieldKind.StrList,
        ["key_aliases"] = FieldKind.StrList,
    };

    public static readonly IReadOnlyDictionary<string, FieldKind> Block = new Dictionary<string, FieldKind>
    {
        ["key"] = FieldKind.Str,
    };

    /// <summary>Request fields that are DB columns and are written as sent.</summary>
    public static readonly string[] Columns =
    [
        "key_alias", "models", "spend", "max_budget", "user_id", "team_id", "agent_id", "organization_id", "project_id",
        "max_parallel_requests", "metadata", "tpm_limit", "rpm_limit", "budget_duration", "allowed_cache_controls", "config",
        "permissions", "model_max_budget", "blocked", "aliases", "budget_id", "allowed_routes", "router_settings",
        "access_group_ids", "policies", "auto_rotate", "rotation_interval",
    ];

    /// <summary>Request fields LiteLLM moves into <c>metadata</c> (echoed as null at top level by /key/generate).</summary>
    public static readonly string[] IntoMetadata = ["model_rpm_limit", "model_tpm_limit", "tags", "guardrails", "prompts", "enforced_params"];
}
