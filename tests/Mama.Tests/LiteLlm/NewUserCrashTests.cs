using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// The real mama process killed right after a create committed, its inline sync's generates still held by the proxy:
/// the users were born holding that sync's lease, which lapses, and a restarted process pushes each user's own key once.
/// </summary>
public abstract class NewUserCrashTests(string provider) : ProcessCrashTest(provider)
{
    private const int Users = 6;

    [Fact]
    public async Task MamaKilledRightAfterACreateCommittedLeavesLeasesThatLapseAndARestartPushesEveryUsersOwnKey()
    {
        await StartAsync("first");
        using (var first = Instance.CreateClient())
            await MamaApp.ChangePasswordAsync(first, "admin", MamaApp.BootstrapPassword, MamaApp.SuperAdminPassword);
        Proxy.SetLatency(TimeSpan.FromMinutes(2), "/key/generate"); // the inline sync's generates never get through

        var ids = Enumerable.Range(0, Users).Select(_ => UserTestData.NewId("crash")).ToList();
        using (var admin = await Instance.SignInSuperAdminAsync())
            Assert.All((await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id)))).Sync, s => Assert.Equal("pending", s.State));
        await using (var db = NewDbContext())
        {
            var rows = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
            Assert.Equal(Users, rows.Count);
            Assert.All(rows, u => Assert.Equal((SyncState.Pending, true), (u.SyncState, u.SyncLeaseOwner is not null)));
        }
        Assert.DoesNotContain(Proxy.GetKeys(), k => ids.Contains(k.KeyAlias!));

        await KillAsync(); // killed: no shutdown, no lease released
        Proxy.SetLatency(TimeSpan.Zero, "/key/generate");
        await StartAsync("second");

        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = NewDbContext();
            return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncState == SyncState.Synced && u.SyncLeaseOwner == null) == Users;
        }, "the restarted mama syncs every user once their leases lapse", TimeSpan.FromSeconds(60));

        await using (var db = NewDbContext())
            foreach (var user in await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync())
            {
                var key = Assert.Single(Proxy.GetKeys(), k => k.KeyAlias == user.UserId);
                Assert.Equal(user.KeyHash, key.Token);
                Assert.Equal(1, Proxy.Calls.Snapshot().Single(c => c.Token == key.Token).Generated);
            }
    }
}

public sealed class NewUserCrashTestsOnSqlite() : NewUserCrashTests("sqlite");
public sealed class NewUserCrashTestsOnPostgres() : NewUserCrashTests("postgres");
