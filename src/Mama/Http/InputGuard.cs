using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mama.Http;

/// <summary>
/// The one door check for text that no database can store: a NUL in the query string or in a JSON string is a 400
/// naming where it was, before any handler or query runs (PostgreSQL would refuse it as an error). The server itself
/// refuses %00 in the path, and the form reader in a form (the handler makes that a 400 too).
/// </summary>
public static class InputGuard
{
    public static IApplicationBuilder UseInputGuard(this IApplicationBuilder app) =>
        app.Use((http, next) =>
        {
            foreach (var (name, values) in http.Request.Query)
            {
                if (TextRules.HasNul(name)) throw ProblemException.Validation("query", "Parameter names must not contain the NUL character (\\u0000).");
                if (values.Any(TextRules.HasNul)) throw ProblemException.Validation(name, TextRules.NulMessage);
            }
            return next(http);
        });

    /// <summary>Reads every JSON string of a request body, refusing NUL; writes strings as usual.</summary>
    public sealed class NoNulStrings : JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var value = reader.GetString();
            // Raw NUL bytes are not valid JSON, so only an escaped string can hold one.
            return reader.ValueIsEscaped && TextRules.HasNul(value) ? throw new NulInJsonException() : value;
        }

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }

    /// <summary>Thrown while reading a body; <see cref="JsonException.Path"/> says which field, and the handler names it.</summary>
    public sealed class NulInJsonException() : JsonException(TextRules.NulMessage);

    /// <summary><c>$.users[0].extra_info</c> as the field name the validation errors use: <c>users[0].extra_info</c>.</summary>
    public static string FieldOf(JsonException e) =>
        e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..]
        : e.Path is { Length: > 1 } root && root.StartsWith('$') ? "body" + root[1..]
        : "body";
}
