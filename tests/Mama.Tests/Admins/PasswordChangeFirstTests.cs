using System.Net;
using System.Net.Http.Json;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Admins;

/// <summary>A password someone else set is good for one thing only: replacing it.</summary>
public abstract class PasswordChangeFirstTests(MamaApp app)
{
    public static TheoryData<string, string> EverythingElse => new()
    {
        { "GET", "/api/v1/users" },
        { "GET", "/api/v1/users/anyone" },
        { "POST", "/api/v1/users" },
        { "PATCH", "/api/v1/users" },
        { "POST", "/api/v1/users/delete" },
        { "GET", "/api/v1/models" },
        { "GET", "/api/v1/audit" },
        { "GET", "/api/v1/admins" },
        { "POST", "/api/v1/admins" },
        { "DELETE", "/api/v1/admins/someone" },
        { "GET", "/api/v1/api-clients" },
        { "POST", "/api/v1/api-clients" },
    };

    [Theory]
    [MemberData(nameof(EverythingElse))]
    public async Task ASuperAdminThatMustChangeItsPasswordGets403ForEverythingButMeAndPasswordChange(string method, string path)
    {
        var (username, password) = await app.NewAdminMustChangeAsync("super_admin");
        using var client = await app.SignInAsync(username, password);

        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method is "GET" or "DELETE" ? null : JsonContent.Create(new { }) };
        var problem = await (await client.SendAsync(request)).AssertProblemAsync(HttpStatusCode.Forbidden);

        Assert.Contains("must change its password first", problem.GetProperty("detail").GetString());
        await using var db = app.NewDbContext();
        var refusal = await db.AuditEvents.SingleAsync(e => e.Actor == username && e.Action == "access.denied");
        Assert.Equal((AuditResult.Denied, 403, "password change required"), (refusal.Result, refusal.StatusCode, refusal.Reason));
    }

    [Fact]
    public async Task MeAndThePasswordChangeWorkAndAfterTheChangeEverythingDoes()
    {
        var (username, password) = await app.NewAdminMustChangeAsync();
        using var client = await app.SignInAsync(username, password);
        var me = await (await client.GetAsync("/api/v1/auth/me")).ReadAsync<Mama.Admins.MeResponse>();
        Assert.True(me.MustChangePassword);

        Assert.Equal(HttpStatusCode.NoContent, (await client.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = "a password of my own" })).StatusCode);

        using var fresh = await app.SignInAsync(username, "a password of my own");
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync("/api/v1/users")).StatusCode);
    }

    [Fact]
    public async Task AResetSendsTheAccountBackToPasswordChangeOnly()
    {
        var (username, _, _) = await app.NewAdminAsync();
        using var super = await app.SuperAdminAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await super.PutJsonAsync($"/api/v1/admins/{username}/password", new { new_password = "set-by-the-super-admin" })).StatusCode);

        using var client = await app.SignInAsync(username, "set-by-the-super-admin");
        await (await client.GetAsync("/api/v1/users")).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ANewPasswordEqualToTheCurrentOneIsA400AndChangesNothing()
    {
        var (username, password) = await app.NewAdminMustChangeAsync();
        using var client = await app.SignInAsync(username, password);

        var problem = await (await client.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = password })).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty("new_password", out _));
        Assert.True((await (await client.GetAsync("/api/v1/auth/me")).ReadAsync<Mama.Admins.MeResponse>()).MustChangePassword);
    }

    [Fact]
    public async Task GuessingTheCurrentPasswordWithAStolenTokenLocksTheAccountLikeSignInDoes()
    {
        var (username, password, client) = await app.NewAdminAsync();
        for (var i = 0; i < 5; i++)
            await (await client.PostJsonAsync("/api/v1/auth/password", new { current_password = $"guess-number-{i}", new_password = "whatever-comes-next" })).AssertProblemAsync(HttpStatusCode.BadRequest);

        await (await client.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = "whatever-comes-next" })).AssertProblemAsync((HttpStatusCode)423);
        await (await app.CreateClient().PostJsonAsync("/api/v1/auth/token", new { username, password })).AssertProblemAsync((HttpStatusCode)423);
        await using var db = app.NewDbContext();
        Assert.Equal(5, await db.AuditEvents.CountAsync(e => e.Actor == username && e.Action == "auth.password_change" && e.StatusCode == 400));
    }

    [Fact]
    public async Task AUiSessionThatMustChangeItsPasswordIsSentToTheChangePageFromEveryPage()
    {
        var (username, password) = await app.NewAdminMustChangeAsync("super_admin");
        using var browser = app.CreateClient();
        await CookieSignIn.SignInAsync(browser, username, password, "/");

        foreach (var page in new[] { "/", "/audit", "/admins", "/api-clients" })
        {
            var response = await browser.GetAsync(page);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/account/password?returnUrl=" + Uri.EscapeDataString(page), response.RedirectTarget());
        }
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/account/password")).StatusCode);
    }
}

public sealed class PasswordChangeFirstTestsOnSqlite(SqliteApp app) : PasswordChangeFirstTests(app), IClassFixture<SqliteApp>;
public sealed class PasswordChangeFirstTestsOnPostgres(PostgresApp app) : PasswordChangeFirstTests(app), IClassFixture<PostgresApp>;
