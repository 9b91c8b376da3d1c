using System.Globalization;
using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Keys;

/// <summary>The /key/* management endpoints of CONTRACT §3–§8; this part maps them all and serves the reads (info, list).</summary>
internal static partial class KeysApi
{
    private static readonly string[] SortColumns = ["spend", "max_budget", "created_at", "updated_at", "token", "key_alias"];

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
