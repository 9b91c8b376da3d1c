using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Rotation;

/// <summary>
/// A rotation's swaps and revocations are recorded in commits shared with other users' results
/// (<see cref="Mama.LiteLlm.SyncRecords"/>). Sharing a commit must not share a failure: a user whose record cannot be
/// written keeps its working key (lookups never return a key it has not been swapped to), the others finish, and it
/// finishes too once its record can be written.
/// </summary>
public abstract class RotationSharedCommitTests(MamaApp app)
{
    /// <summary>SQL that makes marking <paramref name="userId"/>'s rotation item live fail, and SQL that undoes it.</summary>
    protected abstract (string Break, string Repair) BrokenSwap(string userId);

    [Fact]
    public async Task ASwapWhoseRecordFailsInASharedCommitHoldsBackOnlyItsOwnUserWhichFinishesOnceItCanBeWritten()
    {
        using var admin = await app.SuperAdminAsync();
        var (lookups, _) = await app.NewLookupClientAsync(admin);
        var organization = "org-" + Guid.NewGuid().ToString("N")[..10];
        var ids = await admin.CreateUsersAsync(40, organization: organization);
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncState == SyncState.Synced && u.KeyLiveAt != null) == ids.Count;
        }, "the users' keys are live");
        var old = new Dictionary<string, string>();
        foreach (var id in ids) old[id] = (await lookups.LookupAsync(id)).Key!;
        var broken = ids[17];
        var (breakSql, repairSql) = BrokenSwap(broken);
        await using (var db = app.NewDbContext()) await db.Database.ExecuteSqlRawAsync(breakSql);

        string rotationId;
        try
        {
            // 40 users pushed at once: their records queue behind each other's writes and share commits.
            rotationId = (await admin.RotateAsync(new { filter = new { organization }, grace = "0" })).RotationId!;
            await admin.UntilAsync(rotationId, p => p.Revoked == ids.Count - 1, "every other user's old key is revoked");

            // The held-back user still has its old key, on the proxy and in lookups, and nothing of it was half-recorded.
            Assert.Equal(old[broken], (await lookups.LookupAsync(broken)).Key);
            Assert.NotNull(app.LiteLlm.FindKey(old[broken]));
            await using var db = app.NewDbContext();
            var row = await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == broken);
            Assert.NotNull(row.NextKeyHash);
            Assert.Null(row.PreviousKeyHash);
            var progress = await admin.ProgressAsync(rotationId);
            Assert.False(progress.Finished);
        }
        finally
        {
            await using var db = app.NewDbContext();
            await db.Database.ExecuteSqlRawAsync(repairSql);
        }

        await admin.UntilAsync(rotationId, p => p.Revoked == ids.Count && p.Finished, "the held-back user finishes once its record can be written");
        var calls = app.LiteLlm.Calls.Snapshot().ToDictionary(k => k.Token);
        foreach (var id in ids)
        {
            var key = (await lookups.LookupAsync(id)).Key!;
            Assert.NotEqual(old[id], key);
            var onProxy = Assert.Single(app.LiteLlm.KeysOf(id));
            Assert.Equal(key, onProxy.Key);
            // The others were swapped on their first push: one request ever named their new key, its generate. A user whose
            // record had failed with the broken one would have been pushed again (a generate that meets the key, its info).
            if (id != broken) Assert.Equal(1, calls[onProxy.Token].Calls);
        }
        Assert.True(calls[Assert.Single(app.LiteLlm.KeysOf(broken)).Token].Calls > 1, "the held-back user's new key was pushed again after the repair");
        await using (var db = app.NewDbContext())
        {
            var events = await db.RotationEventsAsync(ids);
            Assert.Equal(ids.Count, events.Count(e => e.Action == Mama.LiteLlm.KeyRotationSteps.Live));
            Assert.Equal(ids.Count, events.Count(e => e.Action == Mama.LiteLlm.KeyRotationSteps.Revoked));
            // Every user's lease was given back with its last record.
            Assert.Equal(0, await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncLeaseOwner != null));
        }
    }
}

public sealed class RotationSharedCommitTestsOnSqlite(SqliteApp app) : RotationSharedCommitTests(app), IClassFixture<SqliteApp>
{
    protected override (string Break, string Repair) BrokenSwap(string userId) => (
        $"""CREATE TRIGGER swap_broken BEFORE UPDATE OF "State" ON "key_rotation_items" WHEN NEW."State" = 'live' AND NEW."UserId" = '{userId}' BEGIN SELECT RAISE(ABORT, 'swap broken'); END""",
        "DROP TRIGGER swap_broken");
}

public sealed class RotationSharedCommitTestsOnPostgres(PostgresApp app) : RotationSharedCommitTests(app), IClassFixture<PostgresApp>
{
    protected override (string Break, string Repair) BrokenSwap(string userId) => (
        $"""
        CREATE FUNCTION swap_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          IF NEW."State" = 'live' AND NEW."UserId" = '{userId}' THEN RAISE EXCEPTION 'swap broken'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER swap_broken BEFORE UPDATE OF "State" ON "key_rotation_items" FOR EACH ROW EXECUTE FUNCTION swap_broken();
        """,
        """DROP TRIGGER swap_broken ON "key_rotation_items"; DROP FUNCTION swap_broken();""");
}
