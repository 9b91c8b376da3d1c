using System.Net.Mime;
using System.Text;
using System.Text.Json;
using Mama.Audit;
using Mama.Http;

namespace Mama.ApiClients;

/// <summary>One entry of a FastAPI 422 body, as pydantic v2 reports it: <c>{type, loc, msg, input?, ctx?}</c>.</summary>
/// <param name="HasInput">False when pydantic's input is an object or an array, which could be the whole body: then no <c>input</c> is written.</param>
public sealed record LegacyValidationError(string Type, IReadOnlyList<object> Loc, string Msg, bool HasInput = false, object? Input = null, IReadOnlyDictionary<string, object>? Ctx = null)
{
    public void WriteTo(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("type", Type);
        json.WriteStartArray("loc");
        foreach (var part in Loc)
            if (part is string name) json.WriteStringValue(name);
            else json.WriteNumberValue(Convert.ToInt64(part, System.Globalization.CultureInfo.InvariantCulture));
        json.WriteEndArray();
        json.WriteString("msg", Msg);
        if (HasInput)
        {
            json.WritePropertyName("input");
            WriteValue(json, Input);
        }
        if (Ctx is not null)
        {
            json.WriteStartObject("ctx");
            foreach (var (name, value) in Ctx)
            {
                json.WritePropertyName(name);
                WriteValue(json, value);
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case bool b: json.WriteBooleanValue(b); break;
            case long l: json.WriteNumberValue(l); break;
            case int i: json.WriteNumberValue(i); break;
            case double d: json.WriteNumberValue(d); break;
            case string s: json.WriteStringValue(s); break;
            default: json.WriteStartObject(); json.WriteEndObject(); break;
        }
    }
}

/// <summary>
/// The body of <c>POST /key/info</c>, read the way the Python mama (FastAPI with pydantic v2) read it: JSON when there
/// is no Content-Type or it is <c>application/json</c> or <c>application/*+json</c>; anything wrong is a 422 with
/// FastAPI's <c>{"detail": [...]}</c> rather than a 400 or 415.
/// </summary>
public static class LegacyKeyRequest
{
    public const int MaxUserIds = 10_000;
    private const int MaxErrors = 100;
    private const int MaxEchoedChars = 128;

    /// <summary>The <c>user_ids</c> as sent (invalid and repeated ones included), or a 422 problem.</summary>
    public static IReadOnlyList<string?> Parse(byte[] body, string? contentType)
    {
        // FastAPI passes an empty body, or a JSON null, to validation as "no body".
        if (body.Length == 0) throw Invalid(Error("missing", ["body"], "Field required", null));
        if (!IsJson(contentType)) throw Invalid(new LegacyValidationError("model_attributes_type", ["body"], "Input should be a valid dictionary or object to extract fields from"));

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            // FastAPI's own error: the input is always an empty object, the context the parser's words.
            throw Invalid(new LegacyValidationError("json_invalid", ["body", CharPosition(body, e)], "JSON decode error", HasInput: true, Input: new object(),
                Ctx: new Dictionary<string, object> { ["error"] = FirstSentence(e.Message) }));
        }
        using (document) return ReadUserIds(document.RootElement);
    }

    private static List<string?> ReadUserIds(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Null) throw Invalid(Error("missing", ["body"], "Field required", root));
        if (root.ValueKind != JsonValueKind.Object) throw Invalid(Error("model_attributes_type", ["body"], "Input should be a valid dictionary or object to extract fields from", root));

        // Python's json keeps the last of repeated names.
        JsonElement? userIds = null;
        foreach (var property in root.EnumerateObject())
            if (property.NameEquals("user_ids")) userIds = property.Value;
        if (userIds is not { } list) throw Invalid(Error("missing", ["body", "user_ids"], "Field required", root));
        if (list.ValueKind != JsonValueKind.Array) throw Invalid(Error("list_type", ["body", "user_ids"], "Input should be a valid list", list));

        var count = list.GetArrayLength();
        if (count > MaxUserIds)
            throw Invalid(new LegacyValidationError("too_long", ["body", "user_ids"], $"List should have at most {MaxUserIds} items after validation, not {count}",
                Ctx: new Dictionary<string, object> { ["field_type"] = "List", ["max_length"] = MaxUserIds, ["actual_length"] = count }));

        var ids = new List<string?>(count);
        var errors = new List<LegacyValidationError>();
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                if (errors.Count < MaxErrors) errors.Add(Error("string_type", ["body", "user_ids", index], "Input should be a valid string", item));
            }
            else ids.Add(StringOrNull(item));
            index++;
        }
        if (errors.Count > 0) throw Invalid([.. errors]);
        return ids;
    }

    // A lone surrogate escape (valid JSON, not valid text) cannot be any user's ID; null marks it as one to leave out.
    private static string? StringOrNull(JsonElement item)
    {
        try
        {
            return item.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return true;
        try
        {
            var mediaType = new ContentType(contentType).MediaType;
            return mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase)
                && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static LegacyValidationError Error(string type, object[] loc, string msg, JsonElement? input)
    {
        var (echoed, value) = Echo(input);
        return new(type, loc, msg, echoed, value);
    }

    /// <summary>
    /// pydantic echoes what failed. A scalar is echoed (it is what the client sent, and it tells it what was wrong),
    /// bounded and with key-shaped text redacted; an object or array is not, as it may be the whole body.
    /// </summary>
    private static (bool Echoed, object? Value) Echo(JsonElement? input) => input switch
    {
        null or { ValueKind: JsonValueKind.Null } => (true, null),
        { ValueKind: JsonValueKind.True } => (true, true),
        { ValueKind: JsonValueKind.False } => (true, false),
        { ValueKind: JsonValueKind.Number } n => (true, n.TryGetInt64(out var l) ? l : n.TryGetDouble(out var d) && double.IsFinite(d) ? d : TextRules.Printable(n.GetRawText(), MaxEchoedChars)),
        { ValueKind: JsonValueKind.String } s when StringOrNull(s) is { } text => (true, AuditLog.Redact(TextRules.Printable(text, MaxEchoedChars))),
        _ => (false, null),
    };

    private static ProblemException Invalid(params LegacyValidationError[] errors) =>
        new(StatusCodes.Status422UnprocessableEntity, "Unprocessable content", "The request body is not valid: " + string.Join("; ", errors.Take(3).Select(e => e.Msg)) + ".")
        {
            Extensions = { [LegacyKeysApi.DetailExtension] = errors },
        };

    /// <summary>Python reports the position in characters from the start of the text; System.Text.Json in bytes within a line.</summary>
    private static long CharPosition(ReadOnlySpan<byte> body, JsonException e)
    {
        var line = e.LineNumber ?? 0;
        var start = 0;
        for (var i = 0; i < line && start < body.Length; i++)
        {
            var next = body[start..].IndexOf((byte)'\n');
            if (next < 0) break;
            start += next + 1;
        }
        var end = (int)Math.Min(body.Length, start + (e.BytePositionInLine ?? 0));
        return Encoding.UTF8.GetCharCount(body[..end]);
    }

    // System.Text.Json's messages name a character and a position, never a value; the first sentence is enough.
    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
