using System.Net;
using System.Text.Json;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Admins;

public abstract class LoginTests(MamaApp app)
{
    [Fact]
    public async Task WrongPasswordAndUnknownUsernameGetTheSame401()
    {
        var (username, _, _) = await app.NewAdminAsync();
        using var client = app.CreateClient();

        var wrong = await (await client.PostJsonAsync("/api/v1/auth/token", new { username, password = "not-the-password" })).AssertProblemAsync(HttpStatusCode.Unauthorized);
        var unknown = await (await client.PostJsonAsync("/api/v1/auth/token", new { username = "nobody-" + username, password = "whatever-it-is" })).AssertProblemAsync(HttpStatusCode.Unauthorized);

        Assert.Equal(Without(wrong, "trace_id"), Without(unknown, "trace_id"));
    }

    [Fact]
    public async Task TheSixthAttemptAfterFiveFailuresIsLockedOutWith423AndEveryAttemptIsAudited()
    {
        var (username, password) = await app.NewAdminMustChangeAsync();
        using var client = app.CreateClient();
        for (var i = 0; i < 5; i++)
            await (await client.PostJsonAsync("/api/v1/auth/token", new { username, password = $"wrong-{i}" })).AssertProblemAsync(HttpStatusCode.Unauthorized);

        var locked = await client.PostJsonAsync("/api/v1/auth/token", new { username, password });
        await locked.AssertProblemAsync((HttpStatusCode)423);
        var retryAfter = int.Parse(locked.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retryAfter, 1, 300);

        await using var db = app.NewDbContext();
        var attempts = await db.AuditEvents.Where(e => e.Actor == username && e.Action == "auth.login").OrderBy(e => e.Id).ToListAsync();
        Assert.Equal(
            [AuditResult.Failure, AuditResult.Failure, AuditResult.Failure, AuditResult.Failure, AuditResult.Failure, AuditResult.Denied],
            attempts.Select(a => a.Result));
        Assert.Equal([401, 401, 401, 401, 401, 423], attempts.Select(a => a.StatusCode));
    }

    [Fact]
    public async Task AFormEncodedTokenRequestWorksLikeJson()
    {
        var (username, password, _) = await app.NewAdminAsync();
        using var client = app.CreateClient();
        var response = await client.PostAsync("/api/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = username, ["password"] = password }));
        var token = await response.ReadAsync<Mama.Admins.TokenResponse>();
        Assert.Equal("Bearer", token.TokenType);
        Assert.True(token.ExpiresIn > 0);
    }

    [Fact]
    public async Task ARequestWithoutATokenGets401AndAGarbledTokenToo()
    {
        using var client = app.CreateClient();
        await (await client.GetAsync("/api/v1/auth/me")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        client.DefaultRequestHeaders.Authorization = new("Bearer", "not.a.token");
        await (await client.GetAsync("/api/v1/auth/me")).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    private static string Without(JsonElement problem, string property) =>
        JsonSerializer.Serialize(problem.EnumerateObject().Where(p => p.Name != property).ToDictionary(p => p.Name, p => p.Value));
}

public sealed class LoginTestsOnSqlite(SqliteApp app) : LoginTests(app), IClassFixture<SqliteApp>;
public sealed class LoginTestsOnPostgres(PostgresApp app) : LoginTests(app), IClassFixture<PostgresApp>;
