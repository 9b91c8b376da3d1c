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

    private async Task<int> CountAsync()
    {
        await using var db = app.NewDbContext();
        return await db.Users.CountAsync();
    }
}

public sealed class BadInputTestsOnSqlite(SqliteApp app) : BadInputTests(app), IClassFixture<SqliteApp>;
public sealed class BadInputTestsOnPostgres(PostgresApp app) : BadInputTests(app), IClassFixture<PostgresApp>;
