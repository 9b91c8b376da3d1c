using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// Sync results written together (<see cref="SyncRecords"/>) keep the rules of a result written alone: each holds only
/// for its own lease and version, and a row whose write fails fails only its own user, never the others it shared a commit with.
/// </summary>
public abstract class SyncRecordsTests(MamaApp app)
{
    /// <summary>SQL that makes recording <paramref name="userId"/> synced fail, and SQL that undoes it.</summary>
    protected abstract (string Break, string Repair) BrokenSyncedRecord(string userId);

    [Fact]
    public async Task ResultsQueuedBehindABusyWriteAreCommittedTogetherAndOneFailingRowFailsOnlyItsOwnUser()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(12);
        var rows = await HoldLeasesAsync(ids);
        var (breakSql, repairSql) = BrokenSyncedRecord(ids[5]);
        await using (var db = app.NewDbContext()) await db.Database.ExecuteSqlRawAsync(breakSql);
        var records = app.Service<SyncRecords>();
        var at = DateTimeOffset.UtcNow;
        List<Task<bool>> written;
        try
        {
            // The first user's row is locked, so its write waits and the other results queue behind it: they go in one commit.
            await using (var locker = app.NewDbContext())
            {
                await using var tx = await locker.Database.BeginTransactionAsync();
                await locker.Database.ExecuteSqlRawAsync("""UPDATE "users" SET "Version" = "Version" WHERE "Id" = {0}""", rows[0].Id);
                written = rows.Select(r => records.SyncedAsync(r.Id, r.SyncLeaseOwner!, r.Version, at, at)).ToList();
                await tx.RollbackAsync();
            }
            await Assert.ThrowsAnyAsync<Exception>(() => written[5]);
            foreach (var other in written.Where((_, i) => i != 5)) Assert.True(await other);
        }
        finally
        {
            await using var db = app.NewDbContext();
            await db.Database.ExecuteSqlRawAsync(repairSql);
        }

        var after = await UsersAsync(ids);
        Assert.All(after.Where(u => u.UserId != ids[5]), u => Assert.Equal((SyncState.Synced, (string?)null), (u.SyncState, u.SyncLeaseOwner)));
        var broken = after.Single(u => u.UserId == ids[5]);
        Assert.Equal(rows[5].SyncLeaseOwner, broken.SyncLeaseOwner);
        Assert.NotEqual(SyncState.Synced, broken.SyncState);
    }

    [Fact]
    public async Task AResultForAnotherLeaseOrAnOlderVersionIsNotWrittenWhileTheOthersInItsCommitAre()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3);
        var rows = await HoldLeasesAsync(ids);
        var records = app.Service<SyncRecords>();
        var at = DateTimeOffset.UtcNow;

        var written = await Task.WhenAll(
            records.SyncedAsync(rows[0].Id, rows[0].SyncLeaseOwner!, rows[0].Version, at, at),
            records.SyncedAsync(rows[1].Id, "another-workers-lease", rows[1].Version, at, at),
            records.SyncedAsync(rows[2].Id, rows[2].SyncLeaseOwner!, rows[2].Version - 1, at, at));

        Assert.Equal([true, false, false], written);
        var after = (await UsersAsync(ids)).ToDictionary(u => u.UserId);
        Assert.Equal(SyncState.Synced, after[ids[0]].SyncState);
        Assert.All([ids[1], ids[2]], id => Assert.Equal((SyncState.Pending, rows.Single(r => r.UserId == id).SyncLeaseOwner), (after[id].SyncState, after[id].SyncLeaseOwner)));
    }

    /// <summary>Puts the users back to pending, each held under a lease of its own, as a push in flight leaves them.</summary>
    private async Task<List<User>> HoldLeasesAsync(List<string> ids)
    {
        await using var db = app.NewDbContext();
        foreach (var id in ids)
            await db.KeyUsers.Where(u => u.UserId == id).ExecuteUpdateAsync(s => s
                .SetProperty(u => u.SyncState, SyncState.Pending)
                .SetProperty(u => u.SyncLeaseOwner, "lease-" + id)
                .SetProperty(u => u.SyncLeaseUntil, DateTimeOffset.UtcNow.AddMinutes(5)));
        var rows = await UsersAsync(ids);
        return ids.Select(id => rows.Single(u => u.UserId == id)).ToList();
    }

    private async Task<List<User>> UsersAsync(List<string> ids)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
    }
}

public sealed class SyncRecordsTestsOnSqlite(SqliteApp app) : SyncRecordsTests(app), IClassFixture<SqliteApp>
{
    protected override (string Break, string Repair) BrokenSyncedRecord(string userId) => (
        $"""CREATE TRIGGER synced_broken BEFORE UPDATE OF "SyncState" ON "users" WHEN NEW."SyncState" = 'Synced' AND NEW."UserId" = '{userId}' BEGIN SELECT RAISE(ABORT, 'record broken'); END""",
        "DROP TRIGGER synced_broken");
}

public sealed class SyncRecordsTestsOnPostgres(PostgresApp app) : SyncRecordsTests(app), IClassFixture<PostgresApp>
{
    protected override (string Break, string Repair) BrokenSyncedRecord(string userId) => (
        $"""
        CREATE FUNCTION synced_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          IF NEW."SyncState" = 'Synced' AND NEW."UserId" = '{userId}' THEN RAISE EXCEPTION 'record broken'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER synced_broken BEFORE UPDATE OF "SyncState" ON "users" FOR EACH ROW EXECUTE FUNCTION synced_broken();
        """,
        """DROP TRIGGER synced_broken ON "users"; DROP FUNCTION synced_broken();""");
}
