using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Keys;

/// <summary>The writing /key/* endpoints: generate, update, delete, block and unblock.</summary>
internal static partial class KeysApi
{
    private static readonly string[] BlockResponseFields =
    [
        "token", "key_name", "key_alias", "spend", "max_budget", "expires", "models", "aliases", "config", "user_id", "team_id",
        "agent_id", "project_id", "max_parallel_requests", "metadata", "tpm_limit", "rpm_limit", "budget_duration", "budget_reset_at",
        "allowed_cache_controls", "allowed_routes", "permissions", "model_spend", "model_max_budget", "soft_budget_cooldown",
        "blocked", "litellm_budget_table", "org_id", "created_at", "created_by", "updated_at", "updated_by", "last_active",
        "object_permission_id", "object_permission", "access_group_ids", "rotation_count", "auto_rotate", "rotation_interval",
        "last_rotation_at", "key_rotation_at", "router_settings",
    ];

    private static async Task<IResult> GenerateAsync(HttpContext context, EmulatorControl emulator)
    {
        var body = await RequestBody.ReadAsync(context.Request);
        ProxyAuth.RequireAdmin(context, emulator);
        var request = body.Validate(KeyFields.Generate);
        KeyTypes.Apply(request);
        RejectNegative(request, "max_budget", "internal_server_error");
        RejectNegative(request, "soft_budget", "internal_server_error");
        var now = emulator.Clock.GetUtcNow();
        IResult stored;

        AliasRules.Check((string?)request["key_alias"], emulator);
        lock (emulator.Keys.Gate)
        {
            emulator.KeyPolicy.Check(request);
            if ((string?)request["key_alias"] is { } alias && emulator.Keys.AliasTaken(alias, exceptToken: null))
            {
                throw AliasTaken(alias);
            }
            var raw = (string?)request["key"] ?? Formats.NewKey();
            if (!raw.StartsWith("sk-", StringComparison.Ordinal))
            {
                throw ProxyError.Wrapped(400, $"Invalid key format. LiteLLM Virtual Key must start with 'sk-'. Received: {Formats.Mask(raw)}");
            }
            var row = KeyRow.NewRow(Formats.Sha256Hex(raw), Formats.KeyName(raw), now);
            request["models"] ??= new JsonArray();
            request["metadata"] ??= new JsonObject();
            Apply(row, request, now, isUpdate: false);

            if (emulator.Keys.Rows.ContainsKey((string)row["token"]!))
            {
                if (emulator.DuplicateKeyMode == DuplicateKeyMode.Reject)
                {
                    throw ProxyError.Wrapped(400, "Key already exists");
                }
                // Upstream's insert is an upsert that does nothing on conflict, yet answers as if it had stored the request.
                return EmulatorJson.Result(GenerateResponse(row, raw, request));
            }
            emulator.Keys.Add(new KeyRow(row, raw, now));
            stored = EmulatorJson.Result(GenerateResponse(row, raw, request));
        }
        await emulator.KeyPolicy.StallAsync(context.RequestAborted);
        return stored;
    }

    private static async Task<IResult> UpdateAsync(HttpContext context, EmulatorControl emulator)
    {
        var body = await RequestBody.ReadAsync(context.Request);
        ProxyAuth.RequireAdmin(context, emulator);
        var request = body.Validate(KeyFields.Update, "key");
        var sent = (string)request["key"]!;
        var now = emulator.Clock.GetUtcNow();

        lock (emulator.Keys.Gate)
        {
            var existing = emulator.Keys.Find(sent);
            if (existing is not null)
            {
                RejectNegative(request, "max_budget", "auth_error");
                AliasRules.Check((string?)request["key_alias"], emulator, existing.KeyAlias);
                if ((string?)request["key_alias"] is { } alias && emulator.Keys.AliasTaken(alias, existing.Token))
                {
                    throw AliasTaken(alias);
                }
                var row = existing.Clone();
                Apply(row, request, now, isUpdate: true);
                emulator.Keys.Add(new KeyRow(row, existing.RawKey, existing.CreatedAt));
                var response = new JsonObject { ["key"] = sent };
                foreach (var (name, value) in row)
                {
                    response[name] = value?.DeepClone();
                }
                return EmulatorJson.Result(response);
            }
        }

        if (emulator.MissingKeyUpdateDelay > TimeSpan.Zero)
        {
            await Task.Delay(emulator.MissingKeyUpdateDelay, emulator.Clock, context.RequestAborted);
        }
        throw new ProxyError(
            401, $"Authentication Error: invalid user key - user key does not exist in db. User Key={sent}", "auth_error", "None");
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, EmulatorControl emulator)
    {
        var body = await RequestBody.ReadAsync(context.Request);
        ProxyAuth.RequireAdmin(context, emulator);
        var request = body.Validate(KeyFields.Delete);
        var keys = request["keys"] as JsonArray;
        var aliases = request["key_aliases"] as JsonArray;
        var byKeys = keys is { Count: > 0 };
        if (!byKeys && aliases is not { Count: > 0 })
        {
            throw ValidationError.Single(
                "value_error", ["body"], "Value error, At least one of 'keys' or 'key_aliases' must be provided.", request,
                new JsonObject { ["error"] = new JsonObject() });
        }
        var sent = byKeys ? keys! : aliases!;
        var values = sent.Select(v => (string)v!).ToList();

        lock (emulator.Keys.Gate)
        {
            var tokens = byKeys
                ? values.Select(Formats.HashIfNeeded).Distinct().ToList()
                : emulator.Keys.Rows.Values.Where(r => r.KeyAlias is { } a && values.Contains(a)).Select(r => r.Token).ToList();
            var deleted = tokens.Count(emulator.Keys.Delete);
            if (emulator.LegacyDeleteErrors && deleted < values.Count)
            {
                throw ProxyError.Wrapped(
                    400,
                    $"Not all keys passed in were deleted. This probably means you don't have access to delete all the keys passed in. Keys passed in={values.Count}, Deleted keys ={deleted}",
                    "auth_error");
            }
            if (deleted == 0)
            {
                throw ProxyError.Wrapped(404, "No keys found");
            }
        }
        return EmulatorJson.Result(new JsonObject { ["deleted_keys"] = sent.DeepClone() });
    }

    private static async Task<IResult> SetBlockedAsync(HttpContext context, EmulatorControl emulator, bool blocked)
    {
        var body = await RequestBody.ReadAsync(context.Request);
        ProxyAuth.RequireAdmin(context, emulator);
        var request = body.Validate(KeyFields.Block, "key");
        var sent = (string)request["key"]!;
        var now = emulator.Clock.GetUtcNow();

        lock (emulator.Keys.Gate)
        {
            var existing = emulator.Keys.Find(sent) ?? throw new ProxyError(
                401,
                $"Authentication Error, Invalid proxy server token passed. key={Formats.HashIfNeeded(sent)}, not found in db. Create key via `/key/generate` call.",
                "token_not_found_in_db",
                "key");
            var row = existing.Clone();
            row["blocked"] = blocked;
            row["updated_at"] = Formats.DbTime(now);
            emulator.Keys.Add(new KeyRow(row, existing.RawKey, existing.CreatedAt));
            if (!blocked)
            {
                return EmulatorJson.Result(row);
            }
            // /key/block is filtered through the LiteLLM_VerificationToken response model, which names the organisation org_id.
            var response = new JsonObject();
            foreach (var name in BlockResponseFields)
            {
                response[name] = name == "org_id" ? row["organization_id"]?.DeepClone() : row[name]?.DeepClone();
            }
            return EmulatorJson.Result(response);
        }
    }

    /// <summary>Writes the present request fields into a row: replace semantics, explicit null written through.</summary>
    private static void Apply(JsonObject row, JsonObject request, DateTimeOffset now, bool isUpdate)
    {
        foreach (var column in KeyFields.Columns)
        {
            if (!request.TryGetPropertyValue(column, out var value))
            {
                continue;
            }
            if (value is null && column is "models" or "metadata")
            {
                throw new ProxyError(400, $"Authentication Error, Argument `{column}` must not be null.", "auth_error", "None");
            }
            row[column] = value?.DeepClone();
        }
        if (request.TryGetPropertyValue("duration", out var duration))
        {
            row["expires"] = ExpiryFrom((string?)duration, now, isUpdate);
        }
        if (request.TryGetPropertyValue("budget_duration", out var budgetDuration))
        {
            row["budget_reset_at"] = budgetDuration is null ? null : ExpiryFrom((string?)budgetDuration, now, isUpdate);
        }
        foreach (var field in KeyFields.IntoMetadata)
        {
            if (request[field] is { } value && row["metadata"] is JsonObject metadata)
            {
                metadata[field] = value.DeepClone();
            }
        }
        if (isUpdate)
        {
            row["updated_at"] = Formats.DbTime(now);
            row["updated_by"] = "default_user_id";
        }
    }

    private static string? ExpiryFrom(string? duration, DateTimeOffset now, bool isUpdate)
    {
        if (duration is null || duration == "-1" && isUpdate)
        {
            return null;
        }
        if (Durations.TryAdd(duration, now, out var until))
        {
            return Formats.DbTime(until);
        }
        throw isUpdate
            ? new ProxyError(400, "Authentication Error, " + Durations.InvalidMessage(duration), "auth_error", "None")
            : ProxyError.Wrapped(400, Durations.InvalidMessage(duration));
    }

    private static void RejectNegative(JsonObject request, string field, string type)
    {
        if (request[field] is JsonValue value && value.GetValue<decimal>() < 0)
        {
            throw ProxyError.Wrapped(400, $"{field} cannot be negative. Received: {PyRepr.Float((double)value.GetValue<decimal>())}", type);
        }
    }

    private static ProxyError AliasTaken(string alias) => new(
        400, $"Key with alias '{alias}' already exists. Unique key aliases across all keys are required.", "bad_request_error", "key_alias");

    private static JsonObject GenerateResponse(JsonObject row, string raw, JsonObject request)
    {
        JsonNode? Row(string name) => row[name]?.DeepClone();
        JsonNode? Sent(string name) => request[name]?.DeepClone();
        return new JsonObject
        {
            ["key_alias"] = Row("key_alias"),
            ["duration"] = null,
            ["models"] = Row("models"),
            ["spend"] = Row("spend"),
            ["max_budget"] = Row("max_budget"),
            ["user_id"] = Row("user_id"),
            ["team_id"] = Row("team_id"),
            ["agent_id"] = Row("agent_id"),
            ["max_parallel_requests"] = Row("max_parallel_requests"),
            ["metadata"] = Row("metadata"),
            ["tpm_limit"] = Row("tpm_limit"),
            ["rpm_limit"] = Row("rpm_limit"),
            ["budget_duration"] = Row("budget_duration"),
            ["allowed_cache_controls"] = Row("allowed_cache_controls"),
            ["config"] = Row("config"),
            ["permissions"] = Row("permissions"),
            ["model_max_budget"] = Row("model_max_budget"),
            ["model_rpm_limit"] = null,
            ["model_tpm_limit"] = null,
            ["guardrails"] = null,
            ["policies"] = Sent("policies"),
            ["prompts"] = null,
            ["blocked"] = Row("blocked"),
            ["aliases"] = Row("aliases"),
            ["object_permission"] = null,
            ["key"] = raw,
            ["budget_id"] = Row("budget_id"),
            ["tags"] = null,
            ["enforced_params"] = null,
            ["allowed_routes"] = Row("allowed_routes"),
            ["allowed_passthrough_routes"] = Sent("allowed_passthrough_routes"),
            ["allowed_vector_store_indexes"] = Sent("allowed_vector_store_indexes"),
            ["rpm_limit_type"] = Sent("rpm_limit_type"),
            ["tpm_limit_type"] = Sent("tpm_limit_type"),
            ["router_settings"] = Row("router_settings"),
            ["access_group_ids"] = Row("access_group_ids"),
            ["key_name"] = Row("key_name"),
            ["expires"] = Formats.ToApiTime((string?)row["expires"]),
            ["token_id"] = Row("token"),
            ["organization_id"] = Row("organization_id"),
            ["project_id"] = Row("project_id"),
            ["litellm_budget_table"] = null,
            ["token"] = Row("token"),
            ["created_by"] = Row("created_by"),
            ["updated_by"] = Row("updated_by"),
            ["created_at"] = Formats.ToApiTime((string?)row["created_at"]),
            ["updated_at"] = Formats.ToApiTime((string?)row["updated_at"]),
        };
    }
}
