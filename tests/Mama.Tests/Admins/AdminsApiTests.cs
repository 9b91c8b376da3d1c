using System.Net;
using Mama.Admins;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Admins;

public abstract class AdminsApiTests(MamaApp app)
{
    [Fact]
    public async Task ASuperAdminCreatesAnAdminWhoCanThenSignIn()
    {
        using var super = await app.SuperAdminAsync();
        var username = "new-" + Guid.NewGuid().ToString("N")[..8];

        var created = await (await super.PostJsonAsync("/api/v1/admins", new { username, password = "a long enough password" }))
            .ReadAsync<AdminResponse>(HttpStatusCode.Created);

        Assert.Equal((username, "Admin", "admin"), (created.Username, created.Role, created.CreatedBy));
        using var client = app.CreateClient();
        var token = await MamaApp.TokenAsync(client, username, "a long enough password");
        Assert.True(token.MustChangePassword); // a password someone else chose must be replaced
        var list = await (await super.GetAsync("/api/v1/admins")).ReadAsync<AdminListResponse>();
        Assert.Contains(list.Items, a => a.Username == username && a.Role == "Admin");

        await using var db = app.NewDbContext();
        var audited = await db.AuditEvents.SingleAsync(e => e.Action == "admin.create" && e.Detail.Contains(username));
        Assert.Equal(("admin", AuditResult.Success, 201), (audited.Actor, audited.Result, audited.StatusCode));
    }

    [Fact]
    public async Task APlainAdminGets403OnEveryAdminManagementEndpointAndTheRefusalIsAudited()
    {
        var (username, _, plain) = await app.NewAdminAsync();
        var (victim, _, _) = await app.NewAdminAsync();

        await (await plain.GetAsync("/api/v1/admins")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await plain.PostJsonAsync("/api/v1/admins", new { username = "sneaky", password = "a long enough password" })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await plain.DeleteAsync($"/api/v1/admins/{victim}")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await plain.PutJsonAsync($"/api/v1/admins/{victim}/password", new { new_password = "a long enough password" })).AssertProblemAsync(HttpStatusCode.Forbidden);

        using var super = await app.SuperAdminAsync();
        var list = await (await super.GetAsync("/api/v1/admins")).ReadAsync<AdminListResponse>();
        Assert.Contains(list.Items, a => a.Username == victim);
        Assert.DoesNotContain(list.Items, a => a.Username == "sneaky");
        await using var db = app.NewDbContext();
        Assert.Equal(4, await db.AuditEvents.CountAsync(e => e.Actor == username && e.Action == "access.denied" && e.Result == AuditResult.Denied));
    }

    [Fact]
    public async Task DeletingYourselfIs409()
    {
        var (username, _, self) = await app.NewAdminAsync("super_admin");

        var problem = await (await self.DeleteAsync($"/api/v1/admins/{username}")).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("your own account", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task TheOnlySuperAdminCannotBeDeleted()
    {
        using var super = await app.SuperAdminAsync();
        var problem = await (await super.DeleteAsync("/api/v1/admins/admin")).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        await MamaApp.TokenAsync(app.CreateClient(), "admin", MamaApp.SuperAdminPassword);
    }

    [Fact]
    public async Task DeletingAnotherAdminIs204AndTheirTokenThenGets401()
    {
        var (victim, _, victimClient) = await app.NewAdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await victimClient.GetAsync("/api/v1/auth/me")).StatusCode);
        using var super = await app.SuperAdminAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await super.DeleteAsync($"/api/v1/admins/{victim}")).StatusCode);

        await (await victimClient.GetAsync("/api/v1/auth/me")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await super.DeleteAsync($"/api/v1/admins/{victim}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await using var db = app.NewDbContext();
        Assert.Equal(1, await db.AuditEvents.CountAsync(e => e.Action == "admin.delete" && e.Result == AuditResult.Success && e.Detail.Contains(victim)));
    }

    [Fact]
    public async Task ResettingAPasswordEndsTheOldTokenAndTheNewPasswordMustBeChanged()
    {
        var (victim, oldPassword, victimClient) = await app.NewAdminAsync();
        var (_, newPassword) = await ResetAsync(victim);

        await (await victimClient.GetAsync("/api/v1/auth/me")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var anonymous = app.CreateClient();
        await (await anonymous.PostJsonAsync("/api/v1/auth/token", new { username = victim, password = oldPassword })).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.True((await MamaApp.TokenAsync(anonymous, victim, newPassword)).MustChangePassword);
    }

    [Fact]
    public async Task CreatingADuplicateOrInvalidAdminChangesNothing()
    {
        var (existing, _, _) = await app.NewAdminAsync();
        using var super = await app.SuperAdminAsync();
        await using var before = app.NewDbContext();
        var count = await before.Users.CountAsync();

        await (await super.PostJsonAsync("/api/v1/admins", new { username = existing, password = "a long enough password" })).AssertProblemAsync(HttpStatusCode.Conflict);
        var weak = await (await super.PostJsonAsync("/api/v1/admins", new { username = "weakling", password = "short" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(weak.GetProperty("errors").TryGetProperty("password", out _));
        var badName = await (await super.PostJsonAsync("/api/v1/admins", new { username = "has space", password = "a long enough password" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(badName.GetProperty("errors").TryGetProperty("username", out _));
        var badRole = await (await super.PostJsonAsync("/api/v1/admins", new { username = "rolly", password = "a long enough password", role = "emperor" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(badRole.GetProperty("errors").TryGetProperty("role", out _));

        await using var after = app.NewDbContext();
        Assert.Equal(count, await after.Users.CountAsync());
    }

    private async Task<(string Username, string Password)> ResetAsync(string username)
    {
        var password = "reset-" + Guid.NewGuid().ToString("N");
        using var super = await app.SuperAdminAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await super.PutJsonAsync($"/api/v1/admins/{username}/password", new { new_password = password })).StatusCode);
        return (username, password);
    }
}

public sealed class AdminsApiTestsOnSqlite(SqliteApp app) : AdminsApiTests(app), IClassFixture<SqliteApp>;
public sealed class AdminsApiTestsOnPostgres(PostgresApp app) : AdminsApiTests(app), IClassFixture<PostgresApp>;
