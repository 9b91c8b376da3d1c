using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Audit;

/// <summary>Retention deletes old events only up to a signed checkpoint, and the chain still verifies from there.</summary>
public abstract class AuditRetentionTests
{
    protected abstract MamaApp NewApp();

    [Fact]
    public async Task EventsUpToACheckpointOlderThanTheRetentionAreDeletedAndTheRestStillVerifies()
    {
        await using var app = NewApp();
        await app.InitializeAsync();
        // The first checkpoint is signed as soon as there are events; the old one below must come after it, as in time.
        await MamaApp.EventuallyAsync(async () => await app.Service<AuditCheckpoints>().LatestAsync(CancellationToken.None) is not null,
            "the first checkpoint is signed");
        using (var admin = await app.SuperAdminAsync()) await admin.CreateUsersAsync(6);
        var chain = await ChainAsync(app);
        var old = chain[^4];
        var first = (await app.Service<AuditCheckpoints>().LatestAsync(CancellationToken.None))!;
        // A checkpoint signed two days ago at that event, as the checkpointer would have signed it then.
        await using (var db = app.NewDbContext())
        {
            db.AuditCheckpoints.Add(app.Service<AuditCheckpointSigner>().Sign(new ChainPosition(old.Seq!.Value, old.Hash!), DateTimeOffset.UtcNow.AddDays(-2), first.Signature));
            await db.SaveChangesAsync();
        }

        await app.RestartAsync(new Dictionary<string, string?>
        {
            ["Mama:Audit:RetentionDays"] = "1",
            ["Mama:Audit:RetentionCheckInterval"] = "00:00:00.200",
            ["Mama:Audit:CheckpointInterval"] = "00:00:00.200",
        });
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return !await db.AuditEvents.AnyAsync(e => e.Seq <= old.Seq);
        }, "retention deletes the events up to the old checkpoint");
        using var again = await app.SuperAdminAsync();
        await again.CreateUsersAsync(2);
        var result = await AuditChainTests.VerifyAsync(again);

        Assert.True(result.Ok, result.Problem?.Message);
        Assert.Equal(old.Seq, result.FromSeq);
        Assert.Equal(result.HeadSeq - old.Seq, result.Checked);
        await using var check = app.NewDbContext();
        var purge = await check.AuditEvents.AsNoTracking().SingleAsync(e => e.Action == AuditRetention.Action);
        Assert.Contains($"\"through_seq\":{old.Seq}", purge.Detail);
        Assert.Equal(chain[^3].Id, await check.AuditEvents.Where(e => e.Seq != null).OrderBy(e => e.Seq).Select(e => e.Id).FirstAsync());
    }

    [Fact]
    public async Task EventsDeletedUpToACheckpointWithoutRetentionAreReportedMissing()
    {
        await using var app = NewApp();
        await app.InitializeAsync();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(4);
        var signed = await (await admin.PostAsync("/api/v1/audit/checkpoint", null)).ReadAsync<AuditCheckpointView>();

        // An attacker imitates retention: moves the anchor to a genuine checkpoint and deletes what came before.
        await using (var db = app.NewDbContext())
        {
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_chain" SET "AnchorSeq" = {signed.Seq}, "AnchorHash" = {signed.Hash}""");
            await db.Database.ExecuteSqlAsync($"""DELETE FROM "audit_events" WHERE "Seq" <= {signed.Seq}""");
        }
        var result = await AuditChainTests.VerifyAsync(admin);

        Assert.False(result.Ok);
        Assert.Equal(("event_missing", signed.Seq), (result.Problem?.Kind, result.Problem?.Seq));
    }

    private static async Task<List<AuditEvent>> ChainAsync(MamaApp app)
    {
        await using var db = app.NewDbContext();
        return await db.AuditEvents.AsNoTracking().Where(e => e.Seq != null).OrderBy(e => e.Seq).ToListAsync();
    }
}

public sealed class AuditRetentionTestsOnSqlite : AuditRetentionTests
{
    protected override MamaApp NewApp() => new SqliteApp();
}

public sealed class AuditRetentionTestsOnPostgres : AuditRetentionTests
{
    protected override MamaApp NewApp() => new PostgresApp();
}
