using System.Net;
using Mama.Admins;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Admins;

/// <summary>There is always a super admin, also when the last two delete each other at the same moment.</summary>
public abstract class SuperAdminRaceTests(string provider)
{
    [Fact]
    public async Task TwoSuperAdminsDeletingEachOtherAtOnceLeaveOneOfThemAndTheOtherDeleteIsA409()
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var host = new MamaHost(database, new Dictionary<string, string?> { ["Mama:SignIn:AttemptsPerMinutePerAddress"] = "100000" });
        using (var first = host.CreateClient()) await MamaApp.ChangePasswordAsync(first, "admin", "admin", "the-first-survivor");
        var survivor = ("admin", "the-first-survivor");

        var refusedUnderTheLock = 0;
        for (var round = 0; round < 5; round++)
        {
            var other = await NewSuperAdminAsync(host, survivor);
            using var a = await SignInAsync(host, survivor);
            using var b = await SignInAsync(host, other);

            // Each deletes the other, ten times over, all at once: some requests are past sign-in before any delete commits.
            using var start = new SemaphoreSlim(0);
            var deletes = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
            {
                await start.WaitAsync();
                return i % 2 == 0 ? (Deleted: other.Username, Response: await a.DeleteAsync($"/api/v1/admins/{other.Username}"))
                    : (Deleted: survivor.Item1, Response: await b.DeleteAsync($"/api/v1/admins/{survivor.Item1}"));
            })).ToList();
            start.Release(20);
            var answers = await Task.WhenAll(deletes);

            var deleted = Assert.Single(answers, x => x.Response.StatusCode == HttpStatusCode.NoContent);
            Assert.All(answers.Where(x => x != deleted), x => Assert.Contains(x.Response.StatusCode,
                new[] { HttpStatusCode.Conflict, HttpStatusCode.NotFound, HttpStatusCode.Unauthorized }));
            refusedUnderTheLock += answers.Count(x => x.Response.StatusCode == HttpStatusCode.Conflict);
            var left = Assert.Single(await SuperAdminsAsync(host));
            Assert.NotEqual(deleted.Deleted, left);
            survivor = left == other.Username ? other : survivor;
        }
        // The race was real: requests that had passed sign-in met the last super admin and were refused.
        Assert.True(refusedUnderTheLock > 0, "No delete met the last super admin; the test did not race.");
    }

    private static async Task<(string Username, string Password)> NewSuperAdminAsync(MamaHost host, (string, string) by)
    {
        using var super = await SignInAsync(host, by);
        var username = "super-" + Guid.NewGuid().ToString("N")[..8];
        var created = await super.PostJsonAsync("/api/v1/admins", new { username, password = "initial-password", role = "super_admin" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var client = host.CreateClient();
        await MamaApp.ChangePasswordAsync(client, username, "initial-password", "own-password-of-" + username);
        return (username, "own-password-of-" + username);
    }

    private static async Task<HttpClient> SignInAsync(MamaHost host, (string Username, string Password) who)
    {
        var client = host.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", (await MamaApp.TokenAsync(client, who.Username, who.Password)).AccessToken);
        return client;
    }

    private static async Task<List<string>> SuperAdminsAsync(MamaHost host)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<UserManager<AdminAccount>>();
        return (await accounts.GetUsersInRoleAsync(Roles.SuperAdmin)).Select(a => a.UserName!).ToList();
    }
}

public sealed class SuperAdminRaceTestsOnSqlite() : SuperAdminRaceTests("sqlite");
public sealed class SuperAdminRaceTestsOnPostgres() : SuperAdminRaceTests("postgres");
