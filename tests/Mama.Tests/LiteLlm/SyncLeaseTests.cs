using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.LiteLlm;

/// <summary>Per-user sync leases and the drift check's job lease, with a second worker simulated in the database or run as a second host.</summary>
public abstract class SyncLeaseTests(MamaApp app) : IAsyncLifetime
{
    public ValueTask InitializeAsync()
    {
        app.LiteLlm.SetLatency(TimeSpan.Zero);
        app.LiteLlm.SetLatency(TimeSpan.Zero, "/key/list");
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => InitializeAsync();

    [Fact]
    public async Task AWorkerThatLosesTheLeaseMidPushRecordsNothingAndLeavesTheUserToTheNewHolder()
    {
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.SetLatency(TimeSpan.FromSeconds(1.5)); // info + generate: 3 s, while the lease is renewed every second
        var id = UserTestData.NewId();
        var creating = admin.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(id) }, allow_unknown_models = true });
        await MamaApp.EventuallyAsync(async () => await LeaseOwnerAsync(id) is not null, "the inline sync took the user's lease");

        await SetLeaseAsync(id, "another-worker", DateTimeOffset.UtcNow.AddMinutes(1)); // as if it had expired and been taken

        var outcome = Assert.Single((await (await creating).ReadAsync<UsersChangedResponse>(HttpStatusCode.Created)).Sync);
        Assert.Equal(("pending", true), (outcome.State, outcome.Error?.Contains("lease was lost")));
        await using (var db = app.NewDbContext())
        {
            var user = await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id);
            Assert.Equal((SyncState.Pending, "another-worker"), (user.SyncState, user.SyncLeaseOwner));
        }

        app.LiteLlm.SetLatency(TimeSpan.Zero);
        await SetLeaseAsync(id, null, null); // the holder gives up: the reconciler takes over
        await MamaApp.EventuallyAsync(async () => await StateAsync(id) == SyncState.Synced, "the reconciler syncs the user", TimeSpan.FromSeconds(30));
        var key = app.LiteLlm.FindKeyByAlias(id)!;
        Assert.Equal(1, app.LiteLlm.Calls.Snapshot().Single(c => c.Token == key.Token).Generated);
    }

    [Fact]
    public async Task TheDriftCheckRunsOnOneInstanceAtATimeAndAuditsEachRepairOnce()
    {
        using var admin = await app.SuperAdminAsync();
        var (deleted, changed) = ((await admin.CreateUsersAsync(1))[0], (await admin.CreateUsersAsync(1))[0]);
        var original = app.LiteLlm.FindKeyByAlias(deleted)!.Key!;
        using (var proxy = ProxyClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/delete", new { keys = new[] { original } })).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/update", new { key = app.LiteLlm.FindKeyByAlias(changed)!.Key, models = new[] { "gpt-4o", "sneaky-extra" } })).StatusCode);
        }
        await using var second = app.StartHost();
        app.LiteLlm.SetLatency(TimeSpan.FromSeconds(1), "/key/list"); // so the two checks overlap

        var ran = await Task.WhenAll(
            app.Service<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, CancellationToken.None),
            second.Services.GetRequiredService<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, CancellationToken.None));

        Assert.Single(ran, r => r);
        Assert.Equal(original, app.LiteLlm.FindKeyByAlias(deleted)!.Key);
        Assert.Equal(["gpt-4o"], app.LiteLlm.FindKeyByAlias(changed)!.Models);
        await using var db = app.NewDbContext();
        var repairs = await db.AuditEvents.Where(e => e.Action == "key.repair" && (e.UserIds == " " + deleted + " " || e.UserIds == " " + changed + " ")).ToListAsync();
        Assert.Equal(2, repairs.Count);
        Assert.Single(repairs, r => r.UserIds.Contains(deleted));
    }

    private HttpClient ProxyClient()
    {
        var client = new HttpClient { BaseAddress = app.Emulator.BaseUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MamaApp.MasterKey);
        return client;
    }

    private async Task<string?> LeaseOwnerAsync(string id)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.Where(u => u.UserId == id).Select(u => u.SyncLeaseOwner).SingleOrDefaultAsync();
    }

    private async Task<SyncState> StateAsync(string id)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.Where(u => u.UserId == id).Select(u => u.SyncState).SingleAsync();
    }

    private async Task SetLeaseAsync(string id, string? owner, DateTimeOffset? until)
    {
        await using var db = app.NewDbContext();
        await db.KeyUsers.Where(u => u.UserId == id).ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncLeaseOwner, owner).SetProperty(u => u.SyncLeaseUntil, until));
    }
}

public sealed class SyncLeaseTestsOnSqlite(SqliteApp app) : SyncLeaseTests(app), IClassFixture<SqliteApp>;
public sealed class SyncLeaseTestsOnPostgres(PostgresApp app) : SyncLeaseTests(app), IClassFixture<PostgresApp>;
