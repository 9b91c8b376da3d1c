using System.Globalization;
using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Keys;

/// <summary>The /key/* management endpoints of CONTRACT §3–§8.</summary>
internal static class KeysApi
{
    private static readonly string[] SortColumns = ["spend", "max_budget", "created_at", "updated_at", "token", "key_alias"];

    private static readonly string[] BlockResponseFields =
    [
        "token", "key_name", "key_alias", "spend", "max_budget", "expires", "models", "aliases", "config", "user_id", "team_id",
        "agent_id", "project_id", "max_parallel_requests", "metadata", "tpm_limit", "rpm_limit", "budget_duration", "budget_reset_at",
        "allowed_cache_controls", "allowed_routes", "permissions", "model_spend", "model_max_budget", "soft_budget_cooldown",
        "blocked", "litellm_budget_table", "org_id", "created_at", "created_by", "updated_at", "updated_by", "last_active",
        "object_permission_id", "object_permission", "access_group_ids", "rotation_count", "auto_rotate", "rotation_interval",
        "last_rotation_at", "key_rotation_at", "router_settings",
    ];

    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/key/generate", GenerateAsync);
        app.MapPost("/key/update", UpdateAsync);
        app.MapPost("/key/delete", DeleteAsync);
        app.MapGet("/key/info", Info);
        app.MapGet("/key/list", List);
        app.MapPost("/key/block", (HttpContext context, EmulatorControl emulator) => SetBlockedAsync(context, emulator, true));
        app.MapPost("/key/unblock", (HttpContext context, EmulatorControl emulator) => SetBlockedAsync(context, emulator, false));
        return app;
    }

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

    private static IResult Info(HttpContext context, EmulatorControl emulator)
    {
        var caller = ProxyAuth.Authenticate(context, emulator);
        var key = context.Request.Query["key"].ToString();
        if (key.Length == 0)
        {
            key = caller.Key;
        }
        if (!caller.IsAdmin && Formats.HashIfNeeded(key) != caller.Token)
        {
            ProxyAuth.RequireAdmin(context, emulator);
        }
        lock (emulator.Keys.Gate)
        {
            var row = emulator.Keys.Find(key) ?? throw new ProxyError(404, "Key not found in database", "not_found_error", "key");
            return EmulatorJson.Result(new JsonObject { ["key"] = key, ["info"] = row.CloneWithout("token") });
        }
    }

    private static IResult List(HttpContext context, EmulatorControl emulator)
    {
        ProxyAuth.RequireAdmin(context, emulator);
        var query = context.Request.Query;
        var errors = new JsonArray();
        var page = QueryInt(query, "page", 1, min: 1, max: null, errors);
        var size = QueryInt(query, "size", 10, min: 1, max: 100, errors);
        var fullObjects = QueryBool(query, "return_full_object", errors);
        if (errors.Count > 0)
        {
            throw new ValidationError(errors);
        }

        var sortBy = query["sort_by"].ToString();
        if (sortBy.Length > 0 && !SortColumns.Contains(sortBy))
        {
            throw ProxyError.Wrapped(400, "Invalid sort column. Must be one of: " + string.Join(", ", SortColumns));
        }
        var ascending = query["sort_order"].ToString().Equals("asc", StringComparison.OrdinalIgnoreCase);
        var status = query["status"].ToString();
        if (status.Length > 0 && status != "deleted")
        {
            throw ProxyError.Wrapped(400, "Invalid status value. Currently only 'deleted' is supported.");
        }

        lock (emulator.Keys.Gate)
        {
            IEnumerable<KeyRow> rows = status == "deleted" ? emulator.Keys.Deleted : emulator.Keys.Rows.Values;
            rows = rows.Where(r => r.TeamId != "litellm-dashboard");
            rows = Filter(rows, query, "user_id", r => r.UserId);
            rows = Filter(rows, query, "team_id", r => r.TeamId);
            rows = Filter(rows, query, "organization_id", r => r.OrganizationId);
            rows = Filter(rows, query, "key_hash", r => r.Token);
            rows = Filter(rows, query, "key_alias", r => r.KeyAlias);
            var ordered = Sort(rows.ToList(), sortBy, ascending);

            var total = ordered.Count;
            var pageRows = ordered.Skip((page - 1) * size).Take(size);
            var items = new JsonArray([.. pageRows.Select(r => fullObjects ? FullObject(r) : (JsonNode)JsonValue.Create(r.Token))]);
            return EmulatorJson.Result(new JsonObject
            {
                ["keys"] = items,
                ["total_count"] = total,
                ["current_page"] = page,
                ["total_pages"] = (total + size - 1) / size,
            });
        }
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

    /// <summary>A /key/list item with return_full_object=true: the row plus the auth-view fields, organisation as org_id.</summary>
    private static JsonObject FullObject(KeyRow row)
    {
        var item = row.CloneWithout("budget_limits", "litellm_organization_table", "litellm_project_table", "jwt_key_mappings", "organization_id");
        item["org_id"] = row.OrganizationId;
        foreach (var name in new[] { "api_key", "user_role", "team_spend", "team_alias", "team_tpm_limit", "team_rpm_limit", "team_max_budget" })
        {
            item[name] = null;
        }
        item["team_models"] = new JsonArray();
        item["team_blocked"] = false;
        foreach (var name in new[] { "soft_budget", "team_member_spend", "end_user_id", "last_refreshed_at" })
        {
            item[name] = null;
        }
        return item;
    }

    private static IEnumerable<KeyRow> Filter(IEnumerable<KeyRow> rows, IQueryCollection query, string name, Func<KeyRow, string?> field)
    {
        var wanted = query[name].ToString();
        return wanted.Length == 0 ? rows : rows.Where(r => string.Equals(field(r), wanted, StringComparison.Ordinal));
    }

    private static List<KeyRow> Sort(List<KeyRow> rows, string sortBy, bool ascending)
    {
        static decimal? Number(KeyRow r, string name) => r.Row[name] is JsonValue v ? v.GetValue<decimal>() : null;

        IOrderedEnumerable<KeyRow> ordered = sortBy switch
        {
            "spend" or "max_budget" => ascending ? rows.OrderBy(r => Number(r, sortBy)) : rows.OrderByDescending(r => Number(r, sortBy)),
            "updated_at" => ascending
                ? rows.OrderBy(r => Formats.ParseTime((string?)r.Row["updated_at"]))
                : rows.OrderByDescending(r => Formats.ParseTime((string?)r.Row["updated_at"])),
            "token" => ascending ? rows.OrderBy(r => r.Token, StringComparer.Ordinal) : rows.OrderByDescending(r => r.Token, StringComparer.Ordinal),
            "key_alias" => ascending
                ? rows.OrderBy(r => r.KeyAlias, StringComparer.Ordinal)
                : rows.OrderByDescending(r => r.KeyAlias, StringComparer.Ordinal),
            _ => ascending ? rows.OrderBy(r => r.CreatedAt) : rows.OrderByDescending(r => r.CreatedAt),
        };
        return ascending
            ? [.. ordered.ThenBy(r => r.Token, StringComparer.Ordinal)]
            : [.. ordered.ThenByDescending(r => r.Token, StringComparer.Ordinal)];
    }

    private static int QueryInt(IQueryCollection query, string name, int fallback, int min, int? max, JsonArray errors)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            return fallback;
        }
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            errors.Add(ValidationError.Item("int_parsing", ["query", name], "Input should be a valid integer, unable to parse string as an integer", text));
            return fallback;
        }
        if (value < min)
        {
            errors.Add(ValidationError.Item(
                "greater_than_equal", ["query", name], $"Input should be greater than or equal to {min}", text, new JsonObject { ["ge"] = min }));
        }
        else if (max is { } limit && value > limit)
        {
            errors.Add(ValidationError.Item(
                "less_than_equal", ["query", name], $"Input should be less than or equal to {limit}", text, new JsonObject { ["le"] = limit }));
        }
        return value;
    }

    private static bool QueryBool(IQueryCollection query, string name, JsonArray errors)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            return false;
        }
        if (RequestBody.TryParseBool(text, out var value))
        {
            return value;
        }
        errors.Add(ValidationError.Item("bool_parsing", ["query", name], "Input should be a valid boolean, unable to interpret input", text));
        return false;
    }
}
