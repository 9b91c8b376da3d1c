using System.Net;
using System.Text.Json;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Http;

/// <summary>Text built to slip past a check: hidden characters, NUL, and bodies of the wrong media type.</summary>
public abstract class HostileInputTests(MamaApp app)
{
    private static readonly string[] HiddenSuffixes = ["\n", "\r\n", "\u0085", "\u200B", "\u00AD", "\u202E", "\u2028", "\u2029", "\uFEFF"];
    private static readonly string[] Targets = ["user_id", "organization", "model", "service_edit", "api_client_name", "api_client_service", "admin_username"];

    public static TheoryData<string, string> HiddenCharacters()
    {
        var rows = new TheoryData<string, string>();
        foreach (var target in Targets)
            foreach (var suffix in HiddenSuffixes) rows.Add(target, suffix);
        return rows;
    }

    [Theory]
    [MemberData(nameof(HiddenCharacters))]
    public async Task ANameWithAHiddenCharacterIsRefusedAndNothingIsStored(string target, string suffix)
    {
        using var super = await app.SuperAdminAsync();
        var id = (await super.CreateUsersAsync(1, services: ["billing"]))[0];
        var before = (await app.UserStateAsync(id), await app.CountsAsync());
        var name = "n" + Guid.NewGuid().ToString("N")[..8] + suffix;

        var (path, body, field) = target switch
        {
            "user_id" => ("/api/v1/users", (object)new { users = new[] { UserTestData.Row(name) } }, "users[0].user_id"),
            "organization" => ("/api/v1/users", new { users = new[] { UserTestData.Row(UserTestData.NewId(), organization: name) } }, "users[0].organization"),
            "model" => ("/api/v1/users", new { users = new[] { UserTestData.Row(UserTestData.NewId(), models: [name]) } }, "users[0].allowed_models[0]"),
            "service_edit" => ($"/api/v1/users/{id}", new { allowed_services = new { mode = "add", values = new[] { name } } }, "allowed_services.values[0]"),
            "api_client_name" => ("/api/v1/api-clients", new { name, service = "billing", scope = "all" }, "name"),
            "api_client_service" => ("/api/v1/api-clients", new { name = "c" + Guid.NewGuid().ToString("N")[..8], service = name }, "service"),
            _ => ("/api/v1/admins", new { username = name, password = "a-long-enough-password", role = "admin" }, "username"),
        };
        var json = JsonSerializer.Serialize(body, Mama.Http.MamaJson.Options);
        var response = await super.SendRawAsync(path.Contains(id) ? "PATCH" : "POST", path, json);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        if (target != "admin_username") Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), await response.Content.ReadAsStringAsync());
        Assert.Equal(before, (await app.UserStateAsync(id), await app.CountsAsync()));
    }

    public static TheoryData<string, string, string?, string> NulEverywhere => new()
    {
        // method, path, JSON body, the field the 400 names (the server refuses %00 in a path before mama sees it)
        { "GET", "/api/v1/users?search=ab%00c", null, "search" },
        { "GET", "/api/v1/users?organization=%00", null, "organization" },
        { "GET", "/api/v1/users?model=gpt%00", null, "model" },
        { "GET", "/api/v1/users?service=billing%00", null, "service" },
        { "GET", "/api/v1/users?sort=user_id&s%00rt=x", null, "query" },
        { "GET", "/api/v1/users?query=fine&search=a%00", null, "search" },
        { "GET", "/api/v1/audit?actor=admin%00", null, "actor" },
        { "GET", "/api/v1/audit?user_id=u%00", null, "user_id" },
        { "GET", "/api/v1/audit?action=user.create%00", null, "action" },
        { "POST", "/api/v1/users", """{"users":[{"user_id":"{new}","extra_info":"a\u0000b"}]}""", "users[0].extra_info" },
        { "POST", "/api/v1/users", """{"users":[{"user_id":"{new}","organization":"\u0000"}]}""", "users[0].organization" },
        { "PATCH", "/api/v1/users", """{"user_ids":["{id}"],"extra_info":"\u0000"}""", "extra_info" },
        { "PATCH", "/api/v1/users/{id}", """{"allowed_models":{"mode":"add","values":["gpt-4o\u0000"]}}""", "allowed_models.values[0]" },
        { "POST", "/api/v1/users/delete", """{"user_ids":["{id}\u0000"]}""", "user_ids[0]" },
        { "POST", "/api/v1/admins", """{"username":"adm\u0000in","password":"a-long-enough-password","role":"admin"}""", "username" },
        { "POST", "/api/v1/api-clients", """{"name":"client","service":"billing\u0000","scope":"all"}""", "service" },
        { "POST", "/api/v1/auth/token", """{"username":"admin\u0000","password":"whatever"}""", "username" },
        { "POST", "/api/v1/auth/password", """{"current_password":"x","new_password":"\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}""", "new_password" },
    };

    [Theory]
    [MemberData(nameof(NulEverywhere))]
    public async Task ANulCharacterAnywhereIs400NamingWhereNever503AndChangesNothing(string method, string path, string? body, string field)
    {
        using var super = await app.SuperAdminAsync();
        var id = (await super.CreateUsersAsync(1))[0];
        var before = (await app.UserStateAsync(id), await app.CountsAsync());

        var response = await super.SendRawAsync(method, path.Replace("{id}", id), body?.Replace("{id}", id).Replace("{new}", UserTestData.NewId()));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        Assert.Equal(before, (await app.UserStateAsync(id), await app.CountsAsync()));
        await MamaApp.TokenAsync(app.CreateClient(), "admin", MamaApp.SuperAdminPassword); // the password is unchanged
    }

    [Fact]
    public async Task ANulInASignInFormOrALookupIs400()
    {
        using var anonymous = app.CreateClient();
        var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "admin\0", ["password"] = MamaApp.SuperAdminPassword });
        await (await anonymous.PostAsync("/api/v1/auth/token", form)).AssertProblemAsync(HttpStatusCode.BadRequest);

        using var client = await app.NewApiClientAsync();
        await (await client.SendRawAsync("POST", "/api/v1/keys/lookup", """{"user_ids":["someone\u0000"]}""")).AssertProblemAsync(HttpStatusCode.BadRequest);
        // The legacy lookup answers any list, leaving out an ID that cannot exist; the NUL never reaches the database.
        var legacy = await client.SendRawAsync("POST", "/key/info", """{"user_ids":["someone\u0000"]}""");
        Assert.Equal((HttpStatusCode.OK, "[]"), (legacy.StatusCode, await legacy.Content.ReadAsStringAsync()));
        await (await client.GetAsync("/api/v1/keys/someone?x=%00")).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("/api/v1/keys/lookup", "text/plain", """{"user_ids":["someone"]}""")]
    [InlineData("/api/v1/keys/lookup", "application/x-www-form-urlencoded", "user_ids=someone")]
    [InlineData("/api/v1/keys/lookup", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"user_ids\"\r\n\r\nsomeone\r\n--x--\r\n")]
    public async Task ALookupThatIsNotJsonIs415AndNoAccessDenial(string path, string contentType, string body)
    {
        using var client = await app.NewApiClientAsync();
        var before = await app.CountsAsync();
        var content = new StringContent(body);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);

        var response = await client.PostAsync(path, content);

        var problem = await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
        Assert.Equal(before, await app.CountsAsync());
    }
}

public sealed class HostileInputTestsOnSqlite(SqliteApp app) : HostileInputTests(app), IClassFixture<SqliteApp>;
public sealed class HostileInputTestsOnPostgres(PostgresApp app) : HostileInputTests(app), IClassFixture<PostgresApp>;
