using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Models;

/// <summary>GET /v1/models, /models and /model/info (CONTRACT §9).</summary>
internal static class ModelsApi
{
    private const long CreatedAt = 1677610602;

    private const string NotLoaded =
        "LLM Model List not loaded in. Make sure you passed models in your config.yaml or on the LiteLLM Admin UI. - https://docs.litellm.ai/docs/proxy/configs";

    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", List);
        app.MapGet("/models", List);
        app.MapGet("/model/info", Info);
        app.MapGet("/v1/model/info", Info);
        app.MapGet("/v2/model/info", Info);
        return app;
    }

    private static IResult List(HttpContext context, EmulatorControl emulator)
    {
        var allowed = AllowedModels(context, emulator);
        var names = emulator.ModelNames.Distinct(StringComparer.Ordinal).ToList();
        if (allowed is not null)
        {
            names = [.. allowed.Distinct(StringComparer.Ordinal)];
        }
        // Newer proxies mix key/team aliases, access-group names and no-default-models into this list (#25550, #31966, PR #42908).
        names = [.. names.Concat(emulator.ModelListExtras).Distinct(StringComparer.Ordinal)];
        var data = new JsonArray([.. names.Select(name => (JsonNode)new JsonObject
        {
            ["id"] = name,
            ["object"] = "model",
            ["created"] = CreatedAt,
            ["owned_by"] = "openai",
        })]);
        return EmulatorJson.Result(new JsonObject { ["data"] = data, ["object"] = "list" });
    }

    private static IResult Info(HttpContext context, EmulatorControl emulator)
    {
        if (!emulator.ModelInfoAvailable)
        {
            throw new DetailError(404, JsonValue.Create("Not Found"));
        }
        var allowed = AllowedModels(context, emulator);
        var deployments = emulator.Deployments;
        if (deployments.Count == 0)
        {
            throw new DetailError(500, new JsonObject { ["error"] = NotLoaded });
        }
        var visible = deployments.Where(d => allowed is null || allowed.Contains(d.ModelName)).ToList();
        var id = context.Request.Query["litellm_model_id"].ToString();
        if (id.Length > 0)
        {
            var match = visible.FirstOrDefault(d => (string?)d.ModelInfo["id"] == id)
                ?? throw new DetailError(404, new JsonObject { ["error"] = $"Model id = {id} not found on litellm proxy" });
            return EmulatorJson.Result(new JsonObject { ["data"] = WithGroups(match, emulator) });
        }
        return EmulatorJson.Result(new JsonObject { ["data"] = new JsonArray([.. visible.Select(d => (JsonNode)WithGroups(d, emulator))]) });
    }

    private static JsonObject WithGroups(ModelDeployment deployment, EmulatorControl emulator)
    {
        var json = deployment.ToJson();
        if (emulator.GroupsOf(deployment.ModelName) is { Count: > 0 } groups)
        {
            json["model_info"]!["access_groups"] = new JsonArray([.. groups.Select(g => (JsonNode?)g)]);
        }
        return json;
    }

    /// <summary>null = every proxy model (master key, or a key whose list is empty or says all-proxy-models).</summary>
    private static IReadOnlyList<string>? AllowedModels(HttpContext context, EmulatorControl emulator)
    {
        var caller = ProxyAuth.Authenticate(context, emulator);
        if (caller.IsAdmin)
        {
            return null;
        }
        var models = emulator.FindKey(caller.Token)?.Models ?? [];
        if (models.Count == 0 || models.Contains("all-proxy-models"))
        {
            return null;
        }
        // An access-group name in a key's models stands for the group's models.
        var groups = emulator.AccessGroups;
        return [.. models.SelectMany(m => groups.TryGetValue(m, out var members) ? members : [m])];
    }
}
