using Mama.ApiClients;
using Mama.Data;
using Mama.LiteLlm;
using Mama.Rotation;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Rotation;

/// <summary>
/// The real mama process killed at each step of a rotation, held there by the emulator (down, a generate stored but
/// unanswered, a grace window running, a delete in flight); a restarted process finishes the rotation with exactly one
/// key per user on the proxy, the one lookups return.
/// </summary>
public abstract class RotationCrashTests(string provider) : ProcessCrashTest(provider)
{
    private const int Users = 3;

    [Theory]
    [InlineData("after the start commit")]
    [InlineData("after the alias move, with the generate stored but unanswered")]
    [InlineData("after the swap, during the grace window")]
    [InlineData("while the old keys' deletes are held")]
    public async Task MamaKilledAtAStepOfARotationFinishesItAfterARestartWithExactlyOneKeyPerUserThatLookupsReturn(string step)
    {
        await StartAsync("first");
        using (var first = Instance.CreateClient())
            await MamaApp.ChangePasswordAsync(first, "admin", MamaApp.BootstrapPassword, MamaApp.SuperAdminPassword);
        var lookupToken = await CreateLookupClientAsync(Instance);
        var ids = Enumerable.Range(0, Users).Select(_ => UserTestData.NewId("rot")).ToList();
        using (var admin = await Instance.SignInSuperAdminAsync())
            await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id)));
        await UntilDbAsync(db => db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncState == SyncState.Synced && u.KeyLiveAt != null), "the users' keys are live");
        var old = ids.ToDictionary(id => id, id => Proxy.FindKeyByAlias(id)!.Token);

        string rotationId;
        using (var admin = await Instance.SignInSuperAdminAsync())
        {
            switch (step)
            {
                case "after the start commit":
                    Proxy.SetDown(true);
                    rotationId = (await admin.RotateAsync(new { user_ids = ids, grace = "0" })).RotationId!;
                    await UntilDbAsync(db => db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.NextKeyHash != null && u.RotationId == rotationId), "the start is committed");
                    break;
                case "after the alias move, with the generate stored but unanswered":
                    Proxy.KeyPolicy.StallGenerateAfterStore = true;
                    rotationId = (await admin.RotateAsync(new { user_ids = ids, grace = "0" })).RotationId!;
                    await MamaApp.EventuallyAsync(() => Task.FromResult(Proxy.KeyPolicy.StalledGenerates == Users), "every new key is stored and its answer held");
                    Assert.All(ids, id => Assert.Null(Proxy.FindKey(old[id])!.KeyAlias));
                    break;
                case "after the swap, during the grace window":
                    rotationId = (await admin.RotateAsync(new { user_ids = ids, grace = "1h" })).RotationId!;
                    await admin.UntilAsync(rotationId, p => p.Done == Users, "every new key is live");
                    break;
                default:
                    Proxy.SetLatency(TimeSpan.FromMinutes(10), "/key/delete");
                    rotationId = (await admin.RotateAsync(new { user_ids = ids, grace = "0" })).RotationId!;
                    await MamaApp.EventuallyAsync(() => Task.FromResult(Proxy.Requests.Snapshot().Count(r => r.Url.StartsWith("/key/delete", StringComparison.Ordinal)) == Users),
                        "every old key's delete is in flight");
                    break;
            }
        }

        await KillAsync(); // killed: no shutdown, whatever was in flight never gets its answer
        Proxy.SetDown(false);
        Proxy.KeyPolicy.StallGenerateAfterStore = false;
        Proxy.SetLatency(TimeSpan.Zero, "/key/delete");
        if (step == "after the swap, during the grace window")
            await using (var db = NewDbContext()) await db.EndGraceAsync(ids);
        await StartAsync("second");

        using (var admin = await Instance.SignInSuperAdminAsync())
        {
            await admin.UntilAsync(rotationId, p => p.Revoked == Users && p.Finished, "the restarted mama finishes the rotation", seconds: 90);
            var progress = await admin.ProgressAsync(rotationId);
            Assert.Equal((Users, 0, 0), (progress.Done, progress.Pending, progress.Failed));
        }
        await using (var db = NewDbContext())
        {
            var rows = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
            Assert.All(rows, u => Assert.True(u.NextKeyHash is null && u.PreviousKeyHash is null && u.RotationId is null && u.MintRequestedAt is null));
            foreach (var user in rows)
            {
                var key = Assert.Single(Proxy.KeysOf(user.UserId));
                Assert.Equal(user.KeyHash, key.Token);
                Assert.NotEqual(old[user.UserId], key.Token);
                Assert.Null(Proxy.FindKey(old[user.UserId]));
            }
            var events = await db.RotationEventsAsync(ids);
            Assert.Equal(Users, events.Count(e => e.Action == KeyRotationSteps.Live));
            Assert.Equal(Users, events.Count(e => e.Action == KeyRotationSteps.Revoked));
        }
        Assert.Equal(Users, Proxy.GetKeys().Count(k => k.Metadata["managed_by"]?.GetValue<string>() == "mama"));
        using var client = Instance.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", lookupToken);
        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids })).ReadAsync<LookupResponse>();
        Assert.Equal(ids.Order(), found.Users.Select(u => u.UserId).Order());
        Assert.All(found.Users, u => Assert.Equal(Proxy.FindKeyByAlias(u.UserId)!.Key, u.Key));
    }

    private async Task UntilDbAsync(Func<MamaDbContext, Task<int>> count, string because) =>
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = NewDbContext();
            return await count(db) == Users;
        }, because, TimeSpan.FromSeconds(60));

    protected override void Configure(IDictionary<string, string?> environment)
    {
        environment["LiteLlm__DriftCheckInterval"] = "00:00:01";
    }
}

public sealed class RotationCrashTestsOnSqlite() : RotationCrashTests("sqlite");
public sealed class RotationCrashTestsOnPostgres() : RotationCrashTests("postgres");
