using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mama.LiteLlmEmulator.Http;

internal enum FieldKind { Str, Int, Float, Bool, List, StrList, Dict, Any }

/// <summary>
/// A POST body as FastAPI sees it: undecodable JSON fails before authentication,
/// everything else is validated pydantic-style after it.
/// </summary>
internal sealed class RequestBody
{
    private readonly string? _raw;
    private readonly JsonNode? _json;
    private readonly bool _isJson;

    private RequestBody(string? raw, JsonNode? json, bool isJson)
    {
        _raw = raw;
        _json = json;
        _isJson = isJson;
    }

    public static async Task<RequestBody> ReadAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        if (text.Length == 0)
        {
            return new RequestBody(null, null, false);
        }
        if (!IsJsonContentType(request.ContentType))
        {
            return new RequestBody(text, null, false);
        }
        try
        {
            return new RequestBody(null, JsonNode.Parse(text), true);
        }
        catch (JsonException e)
        {
            throw ValidationError.Single(
                "json_invalid", ["body", e.BytePositionInLine ?? 0], "JSON decode error", new JsonObject(),
                new JsonObject { ["error"] = "Expecting value" });
        }
    }

    private static bool IsJsonContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }
        var mediaType = contentType.Split(';')[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase)
                && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Returns only the known fields, coerced as pydantic's lax mode would; unknown fields are dropped.</summary>
    public JsonObject Validate(IReadOnlyDictionary<string, FieldKind> fields, params string[] required)
    {
        if (!_isJson && _raw is null || _isJson && _json is null)
        {
            throw ValidationError.Single("missing", ["body"], "Field required", null);
        }
        if (_json is not JsonObject body)
        {
            throw ValidationError.Single(
                "model_attributes_type", ["body"], "Input should be a valid dictionary or object to extract fields from",
                _json ?? JsonValue.Create(_raw));
        }

        var errors = new JsonArray();
        var result = new JsonObject();
        foreach (var name in required)
        {
            if (!body.ContainsKey(name))
            {
                errors.Add(ValidationError.Item("missing", ["body", name], "Field required", body));
            }
        }
        foreach (var (name, value) in body)
        {
            if (!fields.TryGetValue(name, out var kind))
            {
                continue;
            }
            if (value is null)
            {
                if (required.Contains(name))
                {
                    errors.Add(ValidationError.Item("string_type", ["body", name], "Input should be a valid string", null));
                }
                else
                {
                    result[name] = null;
                }
                continue;
            }
            var coerced = Coerce(value, kind, name, errors);
            if (coerced is not null)
            {
                result[name] = coerced;
            }
        }
        if (errors.Count > 0)
        {
            throw new ValidationError(errors);
        }
        return result;
    }

    private static JsonNode? Coerce(JsonNode value, FieldKind kind, string name, JsonArray errors)
    {
        JsonNode? Fail(string type, string msg)
        {
            errors.Add(ValidationError.Item(type, ["body", name], msg, value));
            return null;
        }

        var element = value.GetValueKind();
        switch (kind)
        {
            case FieldKind.Any:
                return value.DeepClone();
            case FieldKind.Str:
                return element == JsonValueKind.String ? value.DeepClone() : Fail("string_type", "Input should be a valid string");
            case FieldKind.Dict:
                return element == JsonValueKind.Object ? value.DeepClone() : Fail("dict_type", "Input should be a valid dictionary");
            case FieldKind.List:
                return element == JsonValueKind.Array ? value.DeepClone() : Fail("list_type", "Input should be a valid list");
            case FieldKind.StrList:
                if (value is not JsonArray array)
                {
                    return Fail("list_type", "Input should be a valid list");
                }
                var ok = true;
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i]?.GetValueKind() != JsonValueKind.String)
                    {
                        errors.Add(ValidationError.Item("string_type", ["body", name, i], "Input should be a valid string", array[i]));
                        ok = false;
                    }
                }
                return ok ? value.DeepClone() : null;
            case FieldKind.Int:
                if (element == JsonValueKind.Number)
                {
                    var d = value.GetValue<double>();
                    return d == Math.Floor(d)
                        ? JsonValue.Create((long)d)
                        : Fail("int_from_float", "Input should be a valid integer, got a number with a fractional part");
                }
                if (element == JsonValueKind.String)
                {
                    return long.TryParse(value.GetValue<string>().Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                        ? JsonValue.Create(l)
                        : Fail("int_parsing", "Input should be a valid integer, unable to parse string as an integer");
                }
                return Fail("int_type", "Input should be a valid integer");
            case FieldKind.Float:
                if (element == JsonValueKind.Number)
                {
                    return JsonValue.Create(Formats.PyFloat(value.GetValue<double>()));
                }
                if (element == JsonValueKind.String)
                {
                    return double.TryParse(value.GetValue<string>().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var f)
                        ? JsonValue.Create(Formats.PyFloat(f))
                        : Fail("float_parsing", "Input should be a valid number, unable to parse string as a number");
                }
                return Fail("float_type", "Input should be a valid number");
            case FieldKind.Bool:
                if (element is JsonValueKind.True or JsonValueKind.False)
                {
                    return value.DeepClone();
                }
                if (element == JsonValueKind.Number)
                {
                    var n = value.GetValue<double>();
                    return n is 0 or 1 ? JsonValue.Create(n == 1) : Fail("bool_parsing", "Input should be a valid boolean, unable to interpret input");
                }
                if (element == JsonValueKind.String && TryParseBool(value.GetValue<string>(), out var b))
                {
                    return JsonValue.Create(b);
                }
                return element == JsonValueKind.String
                    ? Fail("bool_parsing", "Input should be a valid boolean, unable to interpret input")
                    : Fail("bool_type", "Input should be a valid boolean");
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    public static bool TryParseBool(string text, out bool value)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "true" or "1" or "yes" or "y" or "on" or "t":
                value = true;
                return true;
            case "false" or "0" or "no" or "n" or "off" or "f":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }
}
