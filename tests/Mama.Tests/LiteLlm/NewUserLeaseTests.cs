using System.Net;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// A create inserts its users already holding the lease its inline sync pushes them under: no commit of its own takes
/// it, and no other worker can take a user between the create's commit and its push.
/// </summary>
public abstract class NewUserLeaseTests(MamaApp app) : IAsyncLifetime
{
    private bool _restarted;

    public ValueTask InitializeAsync()
    {
        app.LiteLlm.SetLatency(TimeSpan.Zero, "/key/generate");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await InitializeAsync();
        if (_restarted) await app.RestartAsync();
    }

    [Fact]
    public async Task AUserTheInlineSyncHasNotReachedYetAlreadyHoldsItsLeaseSoNoOtherWorkerTakesItAndItIsPushedOnce()
    {
        // One call at a time, 1.5 s each: the second user waits for the first one's generate, past its first renewal.
        await app.RestartAsync(new Dictionary<string, string?> { ["LiteLlm:MaxConcurrency"] = "1" });
        _restarted = true;
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.SetLatency(TimeSpan.FromSeconds(1.5), "/key/generate");
        var ids = new[] { UserTestData.NewId(), UserTestData.NewId() };

        var creating = admin.PostJsonAsync("/api/v1/users", new { users = ids.Select(id => UserTestData.Row(id)), allow_unknown_models = true });
        await MamaApp.EventuallyAsync(async () => await CountAsync(ids) == 2, "the create committed");

        await using (var db = app.NewDbContext())
        {
            var now = DateTimeOffset.UtcNow;
            var users = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
            Assert.All(users, u => Assert.True(u.SyncLeaseOwner is not null && u.SyncLeaseUntil > now, $"{u.UserId} holds no lease"));
            // Another instance's take, as Leases.TryTakeUserAsync makes it: nothing is free to take.
            var taken = await db.KeyUsers.Where(u => ids.Contains(u.UserId) && (u.SyncLeaseUntil == null || u.SyncLeaseUntil < now))
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncLeaseOwner, "another-worker").SetProperty(u => u.SyncLeaseUntil, now.AddMinutes(1)));
            Assert.Equal(0, taken);
        }

        Assert.Equal(HttpStatusCode.Created, (await creating).StatusCode);
        await MamaApp.EventuallyAsync(async () => await CountAsync(ids, SyncState.Synced) == 2, "both users are synced");
        await using (var db = app.NewDbContext())
            Assert.All(await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync(), u => Assert.Equal((null, null), (u.SyncLeaseOwner, u.SyncLeaseUntil)));
        foreach (var id in ids)
            Assert.Equal(1, app.LiteLlm.Calls.Snapshot().Single(c => c.Token == app.LiteLlm.FindKeyByAlias(id)!.Token).Generated);
    }

    private async Task<int> CountAsync(IReadOnlyCollection<string> ids, SyncState? state = null)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && (state == null || u.SyncState == state));
    }
}

public sealed class NewUserLeaseTestsOnSqlite(SqliteApp app) : NewUserLeaseTests(app), IClassFixture<SqliteApp>;
public sealed class NewUserLeaseTestsOnPostgres(PostgresApp app) : NewUserLeaseTests(app), IClassFixture<PostgresApp>;
