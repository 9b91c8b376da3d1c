using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Health;

/// <summary>Public routes (CONTRACT §10): no key needed.</summary>
internal static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health/liveliness", () => EmulatorJson.Result(JsonValue.Create("I'm alive!")));
        app.MapGet("/health/liveness", () => EmulatorJson.Result(JsonValue.Create("I'm alive!")));
        app.MapGet("/health/readiness", (EmulatorControl emulator) => EmulatorJson.Result(new JsonObject
        {
            ["status"] = "healthy",
            ["db"] = "connected",
            ["cache"] = null,
            ["litellm_version"] = emulator.Version,
            ["success_callbacks"] = new JsonArray("sync_deployment_callback_on_success", "_PROXY_track_cost_callback"),
            ["use_aiohttp_transport"] = true,
            ["log_level"] = "WARNING",
            ["is_detailed_debug"] = false,
        }));
        app.MapGet("/", () => EmulatorJson.Result(JsonValue.Create("LiteLLM: RUNNING")));
        return app;
    }
}
