using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.ApiClients;

/// <summary><c>POST /key/info</c> and <c>GET /key/{user_id}</c> answer as the Python mama (FastAPI, pydantic v2) answered.</summary>
public abstract class LegacyKeysApiTests(MamaApp app)
{
    [Fact]
    public async Task AnEmptyListIs200WithAnEmptyArrayAndIsAudited()
    {
        var (client, name) = await NewClientAsync();

        var response = await client.PostAsync("/key/info", Json("""{"user_ids":[]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[]", await response.Content.ReadAsStringAsync());
        var lookup = Assert.Single(await LookupsAsync(name));
        Assert.Equal((AuditResult.Success, 200), (lookup.Result, lookup.StatusCode));
    }

    [Fact]
    public async Task ARepeatedIdIsAnsweredOnceAndInvalidOrUnknownIdsAreLeftOut()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(2);
        var (client, name) = await NewClientAsync(admin);
        var unknown = UserTestData.NewId("ghost");
        var body = JsonSerializer.Serialize(new { user_ids = new[] { ids[0], ids[1], ids[0], unknown, "", "a/b", "x..y\u0000", new string('a', 129), "sk-not-an-id!" } });

        var response = await client.PostAsync("/key/info", Json(body));

        var found = await ArrayAsync(response);
        Assert.Equal(ids, found.Select(r => r.GetProperty("user_id").GetString()));
        Assert.All(found, r => Assert.Equal(["user_id", "user_key"], r.EnumerateObject().Select(p => p.Name)));
        Assert.Equal(app.LiteLlm.FindKeyByAlias(ids[0])!.Key, found[0].GetProperty("user_key").GetString());
        var lookup = Assert.Single(await LookupsAsync(name));
        var detail = JsonDocument.Parse(lookup.Detail!).RootElement;
        Assert.Equal(5, detail.GetProperty("invalid").GetInt32());
        Assert.Equal([unknown], detail.GetProperty("not_found").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("a/b", lookup.Detail);
    }

    [Fact]
    public async Task ABodyWithoutAContentTypeIsReadAsJson()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(1);
        var (client, _) = await NewClientAsync(admin);
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { user_ids = ids })));
        Assert.Null(content.Headers.ContentType);

        var found = await ArrayAsync(await client.PostAsync("/key/info", content));

        Assert.Equal(ids[0], Assert.Single(found).GetProperty("user_id").GetString());
    }

    [Theory]
    [InlineData("application/json", """{}""", "missing", """["body","user_ids"]""", "Field required", null)]
    [InlineData("application/json", """{"user_ids":"someone"}""", "list_type", """["body","user_ids"]""", "Input should be a valid list", "\"someone\"")]
    [InlineData("application/json", """{"user_ids":null}""", "list_type", """["body","user_ids"]""", "Input should be a valid list", "null")]
    [InlineData("application/json", """{"user_ids":["someone",7,null]}""", "string_type", """["body","user_ids",1]""", "Input should be a valid string", "7")]
    [InlineData("application/json", """{"user_ids":["someone"]""", "json_invalid", """["body",23]""", "JSON decode error", "{}")]
    [InlineData("application/json", """["someone"]""", "model_attributes_type", """["body"]""", "Input should be a valid dictionary or object to extract fields from", null)]
    [InlineData("application/json", "null", "missing", """["body"]""", "Field required", "null")]
    [InlineData(null, "", "missing", """["body"]""", "Field required", "null")]
    [InlineData("text/plain", """{"user_ids":["someone"]}""", "model_attributes_type", """["body"]""", "Input should be a valid dictionary or object to extract fields from", null)]
    [InlineData("application/x-www-form-urlencoded", "user_ids=someone", "model_attributes_type", """["body"]""", "Input should be a valid dictionary or object to extract fields from", null)]
    public async Task AnInvalidBodyIs422WithFastApisDetailList(string? contentType, string body, string type, string loc, string msg, string? input)
    {
        var (client, name) = await NewClientAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null) content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        var detail = await (await client.PostAsync("/key/info", content)).AssertLegacyErrorAsync((HttpStatusCode)422);

        var first = detail.EnumerateArray().First();
        Assert.Equal(type, first.GetProperty("type").GetString());
        Assert.Equal(loc, first.GetProperty("loc").GetRawText());
        Assert.Equal(msg, first.GetProperty("msg").GetString());
        if (input is null) Assert.False(first.TryGetProperty("input", out _));
        else Assert.Equal(input, first.GetProperty("input").GetRawText());
        var lookup = Assert.Single(await LookupsAsync(name));
        Assert.Equal((AuditResult.Failure, 422), (lookup.Result, lookup.StatusCode));
    }

    [Fact]
    public async Task EveryWrongElementIsNamedAndNoKeyIsEchoed()
    {
        var (client, _) = await NewClientAsync();
        var key = "sk-" + Guid.NewGuid().ToString("N");

        var detail = await (await client.PostAsync("/key/info", Json("""{"user_ids":[1, true, ["x"], {"k": 1}, "fine"]}"""))).AssertLegacyErrorAsync((HttpStatusCode)422);
        var echoed = await (await client.PostAsync("/key/info", Json($$"""{"user_ids":"{{key}}"}"""))).AssertLegacyErrorAsync((HttpStatusCode)422);

        Assert.Equal(["[\"body\",\"user_ids\",0]", "[\"body\",\"user_ids\",1]", "[\"body\",\"user_ids\",2]", "[\"body\",\"user_ids\",3]"],
            detail.EnumerateArray().Select(e => e.GetProperty("loc").GetRawText()));
        Assert.Equal(["1", "true"], detail.EnumerateArray().Where(e => e.TryGetProperty("input", out _)).Select(e => e.GetProperty("input").GetRawText()));
        Assert.DoesNotContain(key, echoed.GetRawText());
        Assert.Equal("sk-***", echoed[0].GetProperty("input").GetString());
    }

    [Fact]
    public async Task TenThousandIdsAreAnsweredAndTenThousandAndOneAre422()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(2);
        var (client, _) = await NewClientAsync(admin);
        var many = Enumerable.Range(0, 10_000 - ids.Count).Select(i => $"nobody-{i:D5}").Concat(ids).ToList();

        var found = await ArrayAsync(await client.PostAsync("/key/info", Json(JsonSerializer.Serialize(new { user_ids = many }))));
        var detail = await (await client.PostAsync("/key/info", Json(JsonSerializer.Serialize(new { user_ids = many.Append("one-more") }))))
            .AssertLegacyErrorAsync((HttpStatusCode)422);

        Assert.Equal(ids, found.Select(r => r.GetProperty("user_id").GetString()));
        var error = Assert.Single(detail.EnumerateArray());
        Assert.Equal(("too_long", 10_000, 10_001), (error.GetProperty("type").GetString(), error.GetProperty("ctx").GetProperty("max_length").GetInt32(),
            error.GetProperty("ctx").GetProperty("actual_length").GetInt32()));
    }

    [Fact]
    public async Task ABodyOverOneMebibyteIs413EvenWithinTenThousandIds()
    {
        var (client, _) = await NewClientAsync();
        var ids = Enumerable.Range(0, 9_000).Select(i => $"{i:D5}-" + new string('x', 120));

        var detail = await (await client.PostAsync("/key/info", Json(JsonSerializer.Serialize(new { user_ids = ids })))).AssertLegacyErrorAsync(HttpStatusCode.RequestEntityTooLarge);

        Assert.Contains("1 MiB", detail.GetString());
    }

    [Fact]
    public async Task AMissingWrongOrAdminsKeyIs401WithTheOriginalsText()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        using var none = app.CreateClient();
        using var wrong = app.CreateClient();
        wrong.DefaultRequestHeaders.Add("x-api-key", "mama_not-a-real-token");

        foreach (var client in new[] { none, wrong, admin })
        {
            var many = await (await client.PostAsync("/key/info", Json(JsonSerializer.Serialize(new { user_ids = new[] { id } })))).AssertLegacyErrorAsync(HttpStatusCode.Unauthorized);
            var one = await (await client.GetAsync($"/key/{id}")).AssertLegacyErrorAsync(HttpStatusCode.Unauthorized);
            Assert.Equal(("Invalid or missing API key.", "Invalid or missing API key."), (many.GetString(), one.GetString()));
        }
    }

    [Fact]
    public async Task GetReturnsTheKeyAndAnUnknownOrImpossibleUserIs404WithTheOriginalsText()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var (client, name) = await NewClientAsync(admin);

        var response = await client.GetAsync($"/key/{id}");

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var one = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(["key"], one.EnumerateObject().Select(p => p.Name));
        Assert.Equal(app.LiteLlm.FindKeyByAlias(id)!.Key, one.GetProperty("key").GetString());
        foreach (var missing in new[] { UserTestData.NewId("ghost"), "%ED%99%8D%EA%B8%B8%EB%8F%99", "bad%20..%20id", new string('a', 129) })
            Assert.Equal("사용자를 찾을 수 없습니다.", (await (await client.GetAsync($"/key/{missing}")).AssertLegacyErrorAsync(HttpStatusCode.NotFound)).GetString());
        var lookups = await LookupsAsync(name);
        Assert.Equal([200, 404, 404, 404, 404], lookups.Select(e => e.StatusCode));
    }

    [Fact]
    public async Task RoutingRefusalsOnTheLegacyPathsAreFastApiShapedToo()
    {
        var (client, _) = await NewClientAsync();

        var method = await (await client.PutAsync("/key/info", Json("{}"))).AssertLegacyErrorAsync(HttpStatusCode.MethodNotAllowed);
        var path = await (await client.GetAsync("/key/a/b")).AssertLegacyErrorAsync(HttpStatusCode.NotFound);

        Assert.Equal(("Method Not Allowed", "Not Found"), (method.GetString(), path.GetString()));
    }

    [Fact]
    public async Task TheApiV1LookupsKeepTheirStricterProblemJson()
    {
        var (client, _) = await NewClientAsync();
        var noType = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"user_ids":["someone"]}"""));

        await (await client.PostAsync("/api/v1/keys/lookup", Json("""{"user_ids":[]}"""))).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await client.PostAsync("/api/v1/keys/lookup", Json("""{"user_ids":["a","a"]}"""))).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await client.PostAsync("/api/v1/keys/lookup", noType)).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        await (await client.GetAsync("/api/v1/keys/nobody-at-all")).AssertProblemAsync(HttpStatusCode.NotFound);
        using var none = app.CreateClient();
        await (await none.GetAsync("/api/v1/keys/nobody-at-all")).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<List<JsonElement>> ArrayAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return [.. JsonDocument.Parse(body).RootElement.EnumerateArray()];
    }

    private async Task<(HttpClient Client, string Name)> NewClientAsync(HttpClient? admin = null)
    {
        using var owned = admin is null ? await app.SuperAdminAsync() : null;
        return await app.NewLookupClientAsync(admin ?? owned!);
    }

    private async Task<List<AuditEvent>> LookupsAsync(string clientName)
    {
        await using var db = app.NewDbContext();
        return await db.AuditEvents.Where(e => e.Actor == "api:" + clientName && e.Action == "key.lookup").OrderBy(e => e.Id).ToListAsync();
    }
}

public sealed class LegacyKeysApiTestsOnSqlite(SqliteApp app) : LegacyKeysApiTests(app), IClassFixture<SqliteApp>;
public sealed class LegacyKeysApiTestsOnPostgres(PostgresApp app) : LegacyKeysApiTests(app), IClassFixture<PostgresApp>;
