using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Mama.Http;

/// <summary>
/// A 200 whose JSON body is written by source-generated code in one synchronous pass into the response's buffer,
/// then sent. <c>TypedResults.Ok</c> serialises with the API's shared options, whose string converter (the NUL
/// check on requests) keeps the serializer off generated code, and it streams a body past 8 KB property by property
/// even with generated code. Only for bodies of bounded size: the whole body is buffered before it is sent.
/// </summary>
public sealed class GeneratedJson<T>(T value, JsonTypeInfo<T> typeInfo) : IResult
{
    public async Task ExecuteAsync(HttpContext http)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/json; charset=utf-8";
        var body = http.Response.BodyWriter;
        using (var writer = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = typeInfo.Options.Encoder, SkipValidation = true }))
            JsonSerializer.Serialize(writer, value, typeInfo);
        await body.FlushAsync(http.RequestAborted);
    }
}
