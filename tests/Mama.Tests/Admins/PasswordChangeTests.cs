using System.Net;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Admins;

public abstract class PasswordChangeTests(MamaApp app)
{
    [Fact]
    public async Task AWrongCurrentPasswordIs400AndChangesNothing()
    {
        var (username, password, client) = await app.NewAdminAsync();

        var problem = await (await client.PostJsonAsync("/api/v1/auth/password", new { current_password = "not-it-at-all", new_password = "a fine new password" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty("current_password", out _));
        await MamaApp.TokenAsync(app.CreateClient(), username, password);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/auth/me")).StatusCode);
    }

    [Theory]
    [InlineData("short", "at least 10")]
    [InlineData("admin", "at least 10")]
    [InlineData("ADMIN-USERNAME", "username")]
    public async Task AWeakNewPasswordIs400NamingTheField(string weak, string expected)
    {
        var (username, password, client) = await app.NewAdminAsync();
        weak = weak == "ADMIN-USERNAME" ? username.ToUpperInvariant() + "" : weak;

        var problem = await (await client.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = weak }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        var messages = problem.GetProperty("errors").GetProperty("new_password").EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.Contains(messages, m => m!.Contains(expected, StringComparison.OrdinalIgnoreCase));
        await MamaApp.TokenAsync(app.CreateClient(), username, password);
    }

    [Fact]
    public async Task ASuccessfulChangeIs204EndsTheOldTokenAndTheNewPasswordSignsIn()
    {
        var (username, password, client) = await app.NewAdminAsync();

        var changed = await client.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = "my own new password" });

        Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        await (await client.GetAsync("/api/v1/auth/me")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var fresh = app.CreateClient();
        await (await fresh.PostJsonAsync("/api/v1/auth/token", new { username, password })).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.False((await MamaApp.TokenAsync(fresh, username, "my own new password")).MustChangePassword);
    }

    [Fact]
    public async Task MissingFieldsAre400NamingThem()
    {
        var (_, _, client) = await app.NewAdminAsync();
        var problem = await (await client.PostJsonAsync("/api/v1/auth/password", new { })).AssertProblemAsync(HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("current_password", out _));
        Assert.True(errors.TryGetProperty("new_password", out _));
    }
}

public sealed class PasswordChangeTestsOnSqlite(SqliteApp app) : PasswordChangeTests(app), IClassFixture<SqliteApp>;
public sealed class PasswordChangeTestsOnPostgres(PostgresApp app) : PasswordChangeTests(app), IClassFixture<PostgresApp>;
