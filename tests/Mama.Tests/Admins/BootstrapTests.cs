using System.Net;
using Mama.Admins;
using Mama.Data;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Admins;

public abstract class BootstrapTests(string provider)
{
    [Fact]
    public async Task FirstStartCreatesExactlyOneSuperAdminAndARestartKeepsEverythingAndCreatesNone()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        string adminId;
        await using (var first = new MamaHost(database))
        {
            using var client = first.CreateClient();
            var token = await MamaApp.TokenAsync(client, "admin", "admin");
            Assert.True(token.MustChangePassword);
            adminId = (await SuperAdminsAsync(first)).Single();
            await using var db = first.Services.GetRequiredService<IDbContextFactory<MamaDbContext>>().CreateDbContext();
            Assert.Equal(1, await db.Users.CountAsync());
        }

        await using var restarted = new MamaHost(database);
        Assert.Equal([adminId], await SuperAdminsAsync(restarted));
        await using var after = restarted.Services.GetRequiredService<IDbContextFactory<MamaDbContext>>().CreateDbContext();
        Assert.Equal(1, await after.Users.CountAsync());
        // The first run's audit events survived the restart.
        Assert.True(await after.AuditEvents.CountAsync(e => e.Action == "auth.login") >= 1);
        Assert.Equal(1, await after.AuditEvents.CountAsync(e => e.Action == "admin.bootstrap"));
    }

    [Fact]
    public async Task TheDefaultPasswordReportsMustChangeUntilItIsChangedAndARestartDoesNotResetIt()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using (var first = new MamaHost(database))
        {
            using var client = first.CreateClient();
            var token = await MamaApp.TokenAsync(client, "admin", "admin");
            client.DefaultRequestHeaders.Authorization = new("Bearer", token.AccessToken);
            var me = await (await client.GetAsync("/api/v1/auth/me")).ReadAsync<MeResponse>();
            Assert.Equal(new MeResponse("admin", "SuperAdmin", true), me);

            var changed = await client.PostJsonAsync("/api/v1/auth/password", new { current_password = "admin", new_password = "a much better secret" });
            Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        }

        await using var restarted = new MamaHost(database);
        using var again = restarted.CreateClient();
        var old = await again.PostJsonAsync("/api/v1/auth/token", new { username = "admin", password = "admin" });
        Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        var fresh = await MamaApp.TokenAsync(again, "admin", "a much better secret");
        Assert.False(fresh.MustChangePassword);
    }

    [Fact]
    public async Task AConfiguredBootstrapPasswordIsUsedAndMustStillBeChangedAtFirstSignIn()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var host = new MamaHost(database, new Dictionary<string, string?> { ["Mama:BootstrapAdminPassword"] = "from-the-environment" });
        using var client = host.CreateClient();
        Assert.True((await MamaApp.TokenAsync(client, "admin", "from-the-environment")).MustChangePassword);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostJsonAsync("/api/v1/auth/token", new { username = "admin", password = "admin" })).StatusCode);
    }

    private static async Task<List<string>> SuperAdminsAsync(MamaHost host)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<Microsoft.AspNetCore.Identity.UserManager<AdminAccount>>();
        return (await accounts.GetUsersInRoleAsync(Roles.SuperAdmin)).Select(a => a.Id).ToList();
    }
}

public sealed class BootstrapTestsOnSqlite() : BootstrapTests("sqlite");
public sealed class BootstrapTestsOnPostgres() : BootstrapTests("postgres");
