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
        var (chain, old) = await SignedTwoDaysAgoAsync(app);

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

    [Fact]
    public async Task RetentionNeverDeletesEventsTheSiemStreamHasNotDelivered()
    {
        await using var receiver = await Mama.Tests.Webhooks.WebhookReceiver.StartAsync();
        receiver.Answer = (_, _) => 500;
        await using var app = NewApp();
        await app.InitializeAsync();
        var (_, old) = await SignedTwoDaysAgoAsync(app);
        await app.RestartAsync(new Dictionary<string, string?>(AuditStreamApp.Streaming(receiver.Url))
        {
            ["Mama:Audit:RetentionDays"] = "1",
            ["Mama:Audit:RetentionCheckInterval"] = "1.00:00:00", // once at start; the test calls it after that
        });
        var retention = app.Service<AuditRetention>();
        await MamaApp.EventuallyAsync(() => Task.FromResult(receiver.Received.Count >= 2), "the stream tries and is refused");

        var whileUndelivered = await retention.PurgeAsync(CancellationToken.None);
        var keptAnchor = await AnchorAsync(app);
        receiver.Answer = (_, _) => 200;
        await MamaApp.EventuallyAsync(async () => await app.Service<AuditStream>().DeliveredThroughAsync(CancellationToken.None) >= old.Seq,
            "the stream delivers past the old checkpoint");
        var afterDelivery = await retention.PurgeAsync(CancellationToken.None);

        Assert.Equal((0L, 0L), (whileUndelivered, keptAnchor));
        Assert.True(afterDelivery >= old.Seq!.Value - 1, $"{afterDelivery} deleted once delivered");
        Assert.Equal(old.Seq, await AnchorAsync(app));
    }

    /// <summary>Events, then a genuine checkpoint two days old at one of them, after the first one signed at start.</summary>
    private static async Task<(List<AuditEvent> Chain, AuditEvent Old)> SignedTwoDaysAgoAsync(MamaApp app)
    {
        // The first checkpoint is signed as soon as there are events; the old one below must come after it, as in time.
        await MamaApp.EventuallyAsync(async () => await app.Service<AuditCheckpoints>().LatestAsync(CancellationToken.None) is not null,
            "the first checkpoint is signed");
        using (var admin = await app.SuperAdminAsync()) await admin.CreateUsersAsync(6);
        var chain = await ChainAsync(app);
        var old = chain[^4];
        var first = (await app.Service<AuditCheckpoints>().LatestAsync(CancellationToken.None))!;
        await using var db = app.NewDbContext();
        db.AuditCheckpoints.Add(app.Service<AuditCheckpointSigner>().Sign(new ChainPosition(old.Seq!.Value, old.Hash!), DateTimeOffset.UtcNow.AddDays(-2), first.Signature));
        await db.SaveChangesAsync();
        return (chain, old);
    }

    private static async Task<long> AnchorAsync(MamaApp app)
    {
        await using var db = app.NewDbContext();
        return await db.AuditChainHead.Select(h => h.AnchorSeq).SingleAsync();
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
