using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Keys;

/// <summary>
/// <c>key_type</c> on /key/generate: LiteLLM drops the field and stores the matching <c>allowed_routes</c> preset instead
/// (<c>handle_key_type</c> in key_management_endpoints.py); <c>default</c> leaves the routes as sent.
/// </summary>
internal static class KeyTypes
{
    private static readonly Dictionary<string, string> Routes = new(StringComparer.Ordinal)
    {
        ["llm_api"] = "llm_api_routes",
        ["management"] = "management_routes",
        ["read_only"] = "info_routes",
    };

    /// <summary>Validates <c>key_type</c> like pydantic's enum check and writes its preset into the request's <c>allowed_routes</c>.</summary>
    public static void Apply(JsonObject request)
    {
        if (!request.TryGetPropertyValue("key_type", out var node) || node is null) return;
        var value = (string)node!;
        request.Remove("key_type");
        if (value == "default") return;
        if (!Routes.TryGetValue(value, out var route))
        {
            throw ValidationError.Single(
                "enum", ["body", "key_type"], "Input should be 'llm_api', 'management', 'read_only' or 'default'", node,
                new JsonObject { ["expected"] = "'llm_api', 'management', 'read_only' or 'default'" });
        }
        request["allowed_routes"] = new JsonArray(route);
    }

    public static string? FromAllowedRoutes(JsonArray? routes) =>
        routes is [JsonValue only] && only.TryGetValue<string>(out var route) ? Routes.FirstOrDefault(p => p.Value == route).Key : null;
}
