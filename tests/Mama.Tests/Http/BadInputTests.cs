using System.Net;
using System.Text;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Http;

public abstract class BadInputTests(MamaApp app)
{
    public static TheoryData<string, string> MalformedBodies => new()
    {
        { "/api/v1/admins", "{\"username\": \"half" },
        { "/api/v1/admins", "[1, 2, 3]" },
        { "/api/v1/admins", "{\"username\": 42, \"password\": true}" },
        { "/api/v1/admins", "" },
        { "/api/v1/auth/token", "{\"username\": " },
        { "/api/v1/auth/password", "not json at all" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task MalformedJsonIs400ProblemAndChangesNothing(string path, string body)
    {
        using var super = await app.SuperAdminAsync();
        var before = await CountAsync();

        var response = await super.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        Assert.Equal(before, await CountAsync());
        await MamaApp.TokenAsync(app.CreateClient(), "admin", MamaApp.SuperAdminPassword); // password unchanged
    }

    [Fact]
    public async Task AMissingFieldIs400NamingIt()
    {
        using var super = await app.SuperAdminAsync();
        var before = await CountAsync();
        var problem = await (await super.PostJsonAsync("/api/v1/admins", new { username = "lonely" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("password", out _));
        Assert.Equal(before, await CountAsync());
    }

    [Theory]
    [InlineData("/api/v1/admins")]
    [InlineData("/api/v1/auth/token")]
    public async Task ABodyOverOneMebibyteIs413ProblemAndChangesNothing(string path)
    {
        using var super = await app.SuperAdminAsync();
        var before = await CountAsync();
        var huge = "{\"username\":\"big\",\"password\":\"" + new string('x', 2 * 1024 * 1024) + "\"}";

        var response = await super.PostAsync(path, new StringContent(huge, Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task AnUnknownRouteIs404Problem()
    {
        using var super = await app.SuperAdminAsync();
        await (await super.GetAsync("/api/v1/nothing-here")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    public static TheoryData<string, string, string, string> NullsInsideLists => new()
    {
        // method, path, body ({id} is an existing user, {new} a fresh ID), the field the 400 names
        { "PATCH", "/api/v1/users", """{"user_ids":["{id}"],"allowed_models":{"mode":"replace","values":[null]}}""", "allowed_models.values[0]" },
        { "PATCH", "/api/v1/users", """{"user_ids":["{id}"],"organization":"other","allowed_services":{"mode":"add","values":["search",null]}}""", "allowed_services.values[1]" },
        { "PATCH", "/api/v1/users/{id}", """{"allowed_models":{"mode":"add","values":[null]}}""", "allowed_models.values[0]" },
        { "PATCH", "/api/v1/users/{id}", """{"extra_info":"changed","allowed_services":{"mode":"remove","values":[null]}}""", "allowed_services.values[0]" },
        { "PATCH", "/api/v1/users", """{"user_ids":["{id}",null],"organization":"other"}""", "user_ids[1]" },
        { "POST", "/api/v1/users/delete", """{"user_ids":[null,"{id}"]}""", "user_ids[0]" },
        { "POST", "/api/v1/users", """{"users":[{"user_id":"{new}","allowed_models":["gpt-4o",null]}]}""", "users[0].allowed_models[1]" },
        { "POST", "/api/v1/users", """{"users":[{"user_id":"{new}","allowed_services":[null]}]}""", "users[0].allowed_services[0]" },
    };

    [Theory]
    [MemberData(nameof(NullsInsideLists))]
    public async Task ANullInsideAListIs400NamingItAndChangesNothing(string method, string path, string body, string field)
    {
        using var super = await app.SuperAdminAsync();
        var id = (await super.CreateUsersAsync(1, services: ["billing"]))[0];
        var before = (await app.UserStateAsync(id), await app.CountsAsync());
        var fresh = UserTestData.NewId();

        var response = await super.SendRawAsync(method, path.Replace("{id}", id), body.Replace("{id}", id).Replace("{new}", fresh));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        Assert.Equal(before, (await app.UserStateAsync(id), await app.CountsAsync()));
    }

    [Theory]
    [InlineData("""{"users":[{"user_id":"{new}","extra_info":"half \ud800 a pair"}]}""")]
    [InlineData("""{"users":[{"user_id":"{new}","organization":"\udc00"}]}""")]
    [InlineData("""{"users":[{"user_id":"{new}","allowed_services":["x\ud800"]}]}""")]
    public async Task HalfASurrogatePairIs400AndCreatesNothing(string body)
    {
        using var super = await app.SuperAdminAsync();
        var before = await app.CountsAsync();
        await (await super.SendRawAsync("POST", "/api/v1/users", body.Replace("{new}", UserTestData.NewId()))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(before, await app.CountsAsync());
    }

    [Fact]
    public async Task ALookupWithANullIdIs400NamingItOrOnTheLegacyPathA422NamingIt()
    {
        using var client = await app.NewApiClientAsync();
        var problem = await (await client.SendRawAsync("POST", "/api/v1/keys/lookup", """{"user_ids":["someone",null]}""")).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("user_ids[1]", out _));
        var legacy = await (await client.SendRawAsync("POST", "/key/info", """{"user_ids":["someone",null]}""")).AssertLegacyErrorAsync((HttpStatusCode)422);
        Assert.Equal("""["body","user_ids",1]""", legacy[0].GetProperty("loc").GetRawText());
    }

    [Theory]
    [InlineData("page=2147483647", "page")]
    [InlineData("page=2147483647&page_size=500", "page")]
    [InlineData("page=200002&page_size=50", "page")]   // one page past ten million rows
    [InlineData("page=0", "page")]
    [InlineData("page=-1", "page")]
    [InlineData("page=-2147483648", "page")]
    [InlineData("page_size=0", "page_size")]
    [InlineData("page_size=-5", "page_size")]
    [InlineData("page_size=501", "page_size")]
    [InlineData("page_size=2147483647", "page_size")]
    [InlineData("page=2147483648", null)]              // not an int at all
    [InlineData("page=1e3", null)]
    public async Task PagingOutOfRangeIs400OnBothListsNeverAQuietFirstPage(string query, string? field)
    {
        using var super = await app.SuperAdminAsync();
        foreach (var list in new[] { "/api/v1/users", "/api/v1/audit" })
        {
            var problem = await (await super.GetAsync($"{list}?{query}")).AssertProblemAsync(HttpStatusCode.BadRequest);
            if (field is not null) Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{list}?{query}");
        }
    }

    [Fact]
    public async Task AFarPageWithinTheLimitIsEmptyNotAnError()
    {
        using var super = await app.SuperAdminAsync();
        foreach (var list in new[] { "/api/v1/users", "/api/v1/audit" })
        {
            var page = await (await super.GetAsync($"{list}?page=200001&page_size=50")).ReadAsync<System.Text.Json.JsonElement>();
            Assert.Equal(0, page.GetProperty("items").GetArrayLength());
            Assert.Equal(200001, page.GetProperty("page").GetInt32());
        }
    }

    private async Task<int> CountAsync()
    {
        await using var db = app.NewDbContext();
        return await db.Users.CountAsync();
    }
}

public sealed class BadInputTestsOnSqlite(SqliteApp app) : BadInputTests(app), IClassFixture<SqliteApp>;
public sealed class BadInputTestsOnPostgres(PostgresApp app) : BadInputTests(app), IClassFixture<PostgresApp>;
