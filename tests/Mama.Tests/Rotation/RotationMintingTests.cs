using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Rotation;

/// <summary>Rotations on a proxy that refuses key values mama chooses: the proxy mints each new key, which goes into the next slot.</summary>
public abstract class RotationMintingTests(MamaApp app)
{
    [Fact]
    public async Task OnAProxyThatMintsItsOwnKeysARotationWithLostMintAnswersEndsWithOneCurrentKeyPerUser()
    {
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = true;
        using var admin = await app.SuperAdminAsync();
        var (lookups, _) = await app.NewLookupClientAsync(admin);
        var ids = await admin.CreateUsersAsync(3);
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncState == SyncState.Synced && u.KeyLiveAt != null) == 3;
        }, "the users' minted keys are live");
        var old = new Dictionary<string, string>();
        foreach (var id in ids) old[id] = (await lookups.LookupAsync(id)).Key;

        // Each mint is stored by the proxy but its answer never arrives; mama gives up and mints again until the answers flow.
        app.LiteLlm.KeyPolicy.StallGenerateAfterStore = true;
        var started = await admin.RotateAsync(new { user_ids = ids, grace = "1h" });
        try
        {
            await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.KeyPolicy.StalledGenerates >= 3), "the new keys' mints are held");
            Assert.Equal(3, (await admin.ProgressAsync(started.RotationId!)).Pending);
            foreach (var id in ids) Assert.Equal(old[id], (await lookups.LookupAsync(id)).Key);
        }
        finally
        {
            app.LiteLlm.KeyPolicy.StallGenerateAfterStore = false;
        }

        await admin.UntilAsync(started.RotationId!, p => p.Done == 3, "every minted key is live");
        foreach (var id in ids)
        {
            var current = (await lookups.LookupAsync(id)).Key;
            Assert.NotEqual(old[id], current);
            Assert.Equal(2, app.LiteLlm.KeysOf(id).Count);
            Assert.Equal(id, app.LiteLlm.FindKey(current)!.KeyAlias);
            Assert.Null(app.LiteLlm.FindKey(old[id])!.KeyAlias);
        }

        await using (var db = app.NewDbContext()) await db.EndGraceAsync(ids);
        app.Service<KeyReconciler>().Wake();
        await admin.UntilAsync(started.RotationId!, p => p.Revoked == 3, "every replaced key is revoked");
        foreach (var id in ids)
            Assert.Equal((await lookups.LookupAsync(id)).Key, Assert.Single(app.LiteLlm.KeysOf(id)).Key);
        Assert.Equal(3, app.LiteLlm.GetKeys().Count(k => ids.Contains(k.KeyAlias ?? "")));
        await using (var db = app.NewDbContext())
            Assert.Empty(await db.KeyUsers.Where(u => ids.Contains(u.UserId) && (u.MintRequestedAt != null || u.NextKeyHash != null)).ToListAsync());
    }
}

public sealed class RotationMintingTestsOnSqlite(SqliteApp app) : RotationMintingTests(app), IClassFixture<SqliteApp>;
public sealed class RotationMintingTestsOnPostgres(PostgresApp app) : RotationMintingTests(app), IClassFixture<PostgresApp>;
