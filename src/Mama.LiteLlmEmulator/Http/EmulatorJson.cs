using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mama.LiteLlmEmulator.Http;

internal static class EmulatorJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // Messages carry quotes and backticks; keep them readable like Python's json.dumps.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static IResult Result(JsonNode? node, int status = StatusCodes.Status200OK) =>
        Results.Text(node is null ? "null" : node.ToJsonString(Options), "application/json", statusCode: status);

    public static Task WriteAsync(HttpResponse response, int status, JsonNode node)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        return response.WriteAsync(node.ToJsonString(Options));
    }
}
