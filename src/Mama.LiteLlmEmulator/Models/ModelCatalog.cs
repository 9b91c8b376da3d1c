using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Models;

internal sealed record ModelDeployment(string ModelName, JsonObject LitellmParams, JsonObject ModelInfo)
{
    public static ModelDeployment For(string modelName, int index)
    {
        var provider = modelName.StartsWith("claude", StringComparison.OrdinalIgnoreCase) ? "anthropic" : "openai";
        var mode = modelName.Contains("embedding", StringComparison.OrdinalIgnoreCase) ? "embedding" : "chat";
        return new ModelDeployment(
            modelName,
            new JsonObject { ["model"] = $"{provider}/{modelName}" },
            new JsonObject
            {
                ["id"] = Formats.Sha256Hex($"{index}:{modelName}")[..32],
                ["db_model"] = false,
                ["key"] = modelName,
                ["litellm_provider"] = provider,
                ["mode"] = mode,
            });
    }

    public JsonObject ToJson() => new()
    {
        ["model_name"] = ModelName,
        ["litellm_params"] = LitellmParams.DeepClone(),
        ["model_info"] = ModelInfo.DeepClone(),
    };
}
