using System.Net.Http.Headers;
using System.Text;

namespace Mama.LiteLlmEmulator.Tests;

/// <summary>An HTTP answer with its body parsed as JSON (null when empty).</summary>
public sealed record Reply(HttpStatusCode Status, JsonNode? Body, string? ContentType)
{
    public JsonNode Json => Body ?? throw new InvalidOperationException("empty body");
    public JsonObject Obj => Json.AsObject();

    /// <summary>Asserts LiteLLM's error envelope, whose code is the status as a string.</summary>
    public void AssertError(HttpStatusCode status, string message, string type, string? param)
    {
        Assert.Equal(status, Status);
        var error = Obj["error"]!.AsObject();
        Assert.Equal(message, (string?)error["message"]);
        Assert.Equal(type, (string?)error["type"]);
        Assert.Equal(param, (string?)error["param"]);
        Assert.Equal(((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)error["code"]);
    }

    /// <summary>Asserts FastAPI's 422 shape and returns the first detail item.</summary>
    public JsonObject AssertValidationError()
    {
        Assert.Equal(HttpStatusCode.UnprocessableEntity, Status);
        var detail = Obj["detail"]!.AsArray();
        Assert.NotEmpty(detail);
        foreach (var item in detail)
        {
            Assert.NotNull(item!["type"]);
            Assert.NotNull(item["loc"]);
            Assert.NotNull(item["msg"]);
            Assert.True(item.AsObject().ContainsKey("input"));
        }
        return detail[0]!.AsObject();
    }
}

/// <summary>A plain HttpClient against the emulator, the way any LiteLLM client would talk to a proxy.</summary>
public sealed class Proxy(Uri baseUrl, string? bearer) : IDisposable
{
    private readonly HttpClient _http = Create(baseUrl, bearer);

    public static HttpClient Create(Uri baseUrl, string? bearer)
    {
        var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(10) };
        if (bearer is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return http;
    }

    public Task<Reply> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path));

    public Task<Reply> PostAsync(string path, JsonNode body) => PostRawAsync(path, body.ToJsonString(), "application/json");

    public Task<Reply> PostRawAsync(string path, string body, string? contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        return SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = content });
    }

    public Task<Reply> PutAsync(string path, JsonNode body) => SendAsync(new HttpRequestMessage(HttpMethod.Put, path)
    {
        Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
    });

    public async Task<Reply> SendAsync(HttpRequestMessage request)
    {
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return new Reply(response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>POST /key/generate and assert 200; returns the response body.</summary>
    public async Task<JsonObject> GenerateAsync(JsonObject? body = null)
    {
        var reply = await PostAsync("/key/generate", body ?? []);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Obj;
    }

    public void Dispose() => _http.Dispose();
}
