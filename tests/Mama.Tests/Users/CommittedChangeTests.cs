using System.Net;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

/// <summary>Once a change is committed, nothing that runs after the commit can turn its answer into an error.</summary>
public abstract class CommittedChangeTests(MamaApp app)
{
    [Fact]
    public async Task AChangeWhoseSyncResultCannotBeRecordedAnswersSuccessAsPendingAndConvergesOnceRecordingWorksAgain()
    {
        using var admin = await app.SuperAdminAsync();
        var org = "org-" + Guid.NewGuid().ToString("N")[..12];
        var id = UserTestData.NewId();
        await using (var db = app.NewDbContext())
            foreach (var sql in RefuseSyncedSql(org)) await db.Database.ExecuteSqlRawAsync(sql);

        var created = await admin.CreateUsersAsync([UserTestData.Row(id, org)]);
        var edited = await admin.EditAsync([id], models: new { mode = "add", values = new[] { "gpt-4o-mini" } });

        Assert.Equal("pending", Assert.Single(created.Sync).State);
        Assert.Equal("pending", Assert.Single(created.Users).SyncState);
        Assert.Equal("pending", Assert.Single(edited.Sync).State);
        Assert.Equal(["gpt-4o", "gpt-4o-mini"], Assert.Single(edited.Users).AllowedModels);
        await using (var db = app.NewDbContext())
        {
            Assert.Equal(SyncState.Pending, await db.KeyUsers.Where(u => u.UserId == id).Select(u => u.SyncState).SingleAsync());
            Assert.Equal(1, await db.AuditEvents.CountAsync(e => e.Action == "user.create" && e.UserIds.Contains(" " + id + " ")));
            foreach (var sql in AllowSyncedSql) await db.Database.ExecuteSqlRawAsync(sql);
        }

        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return await db.KeyUsers.Where(u => u.UserId == id).Select(u => u.SyncState).SingleAsync() == SyncState.Synced;
        }, "the reconciler records the sync once it can");
        var key = app.LiteLlm.FindKeyByAlias(id);
        Assert.NotNull(key);
        Assert.Equal(["gpt-4o", "gpt-4o-mini"], key.Models.Order());
    }

    /// <summary>A trigger that fails the UPDATE recording a successful sync of this organisation's users.</summary>
    protected abstract string[] RefuseSyncedSql(string organization);

    protected abstract string[] AllowSyncedSql { get; }
}

public sealed class CommittedChangeTestsOnSqlite(SqliteApp app) : CommittedChangeTests(app), IClassFixture<SqliteApp>
{
    protected override string[] RefuseSyncedSql(string organization) =>
    [
        $"""
        CREATE TRIGGER refuse_synced BEFORE UPDATE ON users
        WHEN NEW."SyncState" = 'Synced' AND NEW."Organization" = '{organization}'
        BEGIN SELECT RAISE(ABORT, 'injected failure'); END
        """,
    ];

    protected override string[] AllowSyncedSql => ["DROP TRIGGER refuse_synced"];
}

public sealed class CommittedChangeTestsOnPostgres(PostgresApp app) : CommittedChangeTests(app), IClassFixture<PostgresApp>
{
    protected override string[] RefuseSyncedSql(string organization) =>
    [
        "CREATE FUNCTION refuse_synced() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
        $"""
        CREATE TRIGGER refuse_synced BEFORE UPDATE ON users FOR EACH ROW
        WHEN (NEW."SyncState" = 'Synced' AND NEW."Organization" = '{organization}') EXECUTE FUNCTION refuse_synced()
        """,
    ];

    protected override string[] AllowSyncedSql => ["DROP TRIGGER refuse_synced ON users", "DROP FUNCTION refuse_synced()"];
}
