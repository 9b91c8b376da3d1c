using System.Text.Json.Nodes;

namespace Mama.LiteLlmEmulator.Http;

/// <summary>LiteLLM's ProxyException, rendered as <c>{"error":{message,type,param,code}}</c>.</summary>
internal sealed class ProxyError(int status, string message, string type, string? param) : Exception(message)
{
    public int Status => status;
    public string Type => type;
    public string? Param => param;

    /// <summary>An HTTPException whose detail was a dict, wrapped by handle_exception_on_proxy.</summary>
    public static ProxyError Wrapped(int status, string error, string type = "internal_server_error") =>
        new(status, PyRepr.ErrorDict(error), type, "None");

    public JsonObject ToJson() => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = Message,
            ["type"] = Type,
            ["param"] = Param,
            ["code"] = Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
    };
}

/// <summary>A FastAPI HTTPException that escaped LiteLLM's handler: <c>{"detail": …}</c>.</summary>
internal sealed class DetailError(int status, JsonNode? detail) : Exception("detail")
{
    public int Status => status;
    public JsonObject ToJson() => new() { ["detail"] = detail?.DeepClone() };
}

/// <summary>FastAPI's 422 RequestValidationError.</summary>
internal sealed class ValidationError(JsonArray detail) : Exception("validation")
{
    public JsonObject ToJson() => new() { ["detail"] = detail.DeepClone() };

    public static JsonObject Item(string type, JsonArray loc, string msg, JsonNode? input, JsonObject? ctx = null)
    {
        var item = new JsonObject { ["type"] = type, ["loc"] = loc, ["msg"] = msg, ["input"] = input?.DeepClone() };
        if (ctx is not null)
        {
            item["ctx"] = ctx;
        }
        return item;
    }

    public static ValidationError Single(string type, JsonArray loc, string msg, JsonNode? input, JsonObject? ctx = null) =>
        new([Item(type, loc, msg, input, ctx)]);
}
