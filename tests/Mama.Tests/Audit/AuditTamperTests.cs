using Mama.Audit;
using Mama.Data;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Mama.Tests.Audit;

/// <summary>
/// Someone with write access to the database edits, deletes, inserts, moves or rewrites audit events with plain SQL;
/// verification names what happened and the event. Each test tampers with a database of its own.
/// </summary>
public abstract class AuditTamperTests
{
    protected abstract MamaApp NewApp();

    [Fact]
    public async Task AnEditedEventIsReportedAsChangedWithItsId()
    {
        await using var app = await StartAsync();
        var chain = await ChainAsync(app);
        var edited = chain[^3];

        var forged = """{"organization":"forged"}""";

        await using (var db = app.NewDbContext())
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Detail" = {forged} WHERE "Id" = {edited.Id}""");

        await AssertBrokenAsync(app, "content_changed", edited.Id);
    }

    [Fact]
    public async Task ADeletedEventIsReportedAsMissingBeforeTheEventThatFollowedIt()
    {
        await using var app = await StartAsync();
        var chain = await ChainAsync(app);

        await using (var db = app.NewDbContext())
            await db.Database.ExecuteSqlAsync($"""DELETE FROM "audit_events" WHERE "Id" = {chain[^4].Id}""");

        await AssertBrokenAsync(app, "event_missing", chain[^3].Id);
    }

    [Fact]
    public async Task AnEventInsertedOutsideTheChainIsReportedAsInsertedWithItsId()
    {
        await using var app = await StartAsync();
        var chain = await ChainAsync(app);
        var forged = Forge(chain[^2]);

        await using (var db = app.NewDbContext())
            await InsertAsync(db, forged);
        var forgedId = await ForgedIdAsync(app);

        await AssertBrokenAsync(app, "event_inserted", forgedId);
    }

    [Fact]
    public async Task AnEventInsertedInTheMiddleWithCorrectHashesAndRenumberedSequenceIsReportedAsInserted()
    {
        await using var app = await StartAsync();
        var chain = await ChainAsync(app);
        var before = chain[^4];
        var forged = Forge(before);
        forged.Seq = before.Seq + 1;
        forged.Hash = AuditChain.HashOf(before.Hash!, forged);

        await using (var db = app.NewDbContext())
        {
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Seq" = "Seq" + 1000000 WHERE "Seq" > {before.Seq}""");
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Seq" = "Seq" - 999999 WHERE "Seq" > 1000000""");
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_chain" SET "Seq" = "Seq" + 1""");
            await InsertAsync(db, forged);
        }
        var forgedId = await ForgedIdAsync(app);

        await AssertBrokenAsync(app, "event_inserted", forgedId);
    }

    [Fact]
    public async Task TwoEventsSwappedInOrderAreReportedAsMovedWithTheOneThatNowComesFirst()
    {
        await using var app = await StartAsync();
        var chain = await ChainAsync(app);
        var (first, second) = (chain[^4], chain[^3]);

        await using (var db = app.NewDbContext())
        {
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Seq" = -1 WHERE "Id" = {first.Id}""");
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Seq" = {first.Seq} WHERE "Id" = {second.Id}""");
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Seq" = {second.Seq} WHERE "Id" = {first.Id}""");
        }

        await AssertBrokenAsync(app, "out_of_order", second.Id);
    }

    [Fact]
    public async Task AChainRewrittenAndRehashedAfterAPointCannotBeResignedWithoutTheKey()
    {
        await using var app = await StartAsync();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(3);
        var signed = await (await admin.PostAsync("/api/v1/audit/checkpoint", null)).ReadAsync<AuditCheckpointView>();
        await admin.CreateUsersAsync(2);
        var chain = await ChainAsync(app);
        var atCheckpoint = chain.Single(e => e.Seq == signed.Seq);
        var edited = chain.Last(e => e.Seq < signed.Seq - 1);

        // The attacker edits one event and recomputes every hash after it, and the head: the chain is self-consistent.
        await using (var db = app.NewDbContext())
            await RewriteFromAsync(db, edited.Seq!.Value);
        var rewritten = await VerifyAsync(app);

        // Nor can it move the checkpoint onto the rewritten chain: the signature covers the hash.
        var newHash = (await ChainAsync(app)).Single(e => e.Seq == signed.Seq).Hash;
        await using (var db = app.NewDbContext())
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_checkpoints" SET "Hash" = {newHash} WHERE "Seq" = {signed.Seq}""");
        var resigned = await VerifyAsync(app);

        Assert.Equal(("checkpoint_mismatch", atCheckpoint.Id), (rewritten.Problem?.Kind, rewritten.Problem?.EventId));
        Assert.Equal(("checkpoint_invalid", atCheckpoint.Id), (resigned.Problem?.Kind, resigned.Problem?.EventId));
        Assert.False(resigned.Ok);
    }

    [Fact]
    public async Task EventsWrittenBeforeTheChainExistedAreSealedByTheStartThatCreatesItAndAnEventTakenOutLaterIsNeverSealedAgain()
    {
        await using var app = await StartAsync();
        var history = await CountAsync(app);
        // Back to the schema before the chain (its columns and tables go), as an installation upgrading to it.
        await using (var db = app.NewDbContext())
            await db.GetService<IMigrator>().MigrateAsync("WebhookQueueIndex");

        await app.RestartAsync();
        var sealedHistory = await VerifyAsync(app);
        long takenOut;
        await using (var db = app.NewDbContext())
        {
            takenOut = await db.AuditEvents.Where(e => e.Seq != null).OrderBy(e => e.Seq).Select(e => e.Id).Skip(2).FirstAsync();
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Seq" = NULL, "Hash" = NULL WHERE "Id" = {takenOut}""");
        }
        await app.RestartAsync();

        Assert.True(sealedHistory.Ok, sealedHistory.Problem?.Message);
        Assert.True(sealedHistory.Checked >= history && history > 3, $"{sealedHistory.Checked} checked, {history} before the upgrade");
        Assert.True(sealedHistory.Checkpoints >= 1 && sealedHistory.SignedThroughSeq >= history, "the sealed history is signed at once");
        await AssertBrokenAsync(app, "event_inserted", takenOut);
    }

    [Fact]
    public async Task ADeletedCheckpointBetweenTwoOthersIsReported()
    {
        await using var app = await StartAsync();
        using var admin = await app.SuperAdminAsync();
        var signed = new List<AuditCheckpointView>();
        for (var i = 0; i < 3; i++)
        {
            await admin.CreateUsersAsync(1);
            signed.Add(await (await admin.PostAsync("/api/v1/audit/checkpoint", null)).ReadAsync<AuditCheckpointView>());
        }
        var third = (await ChainAsync(app)).Single(e => e.Seq == signed[2].Seq);

        await using (var db = app.NewDbContext())
            await db.Database.ExecuteSqlAsync($"""DELETE FROM "audit_checkpoints" WHERE "Seq" = {signed[1].Seq}""");

        await AssertBrokenAsync(app, "checkpoint_missing", third.Id);
    }

    [Fact]
    public async Task AfterItsCheckpointsAreDeletedAndTheChainRewrittenMamaRefusesToSignAndAKeptCheckpointProvesTheRewrite()
    {
        await using var app = await StartAsync();
        using var admin = await app.SuperAdminAsync();
        var kept = await (await admin.PostAsync("/api/v1/audit/checkpoint", null)).ReadAsync<AuditCheckpointView>();
        await admin.CreateUsersAsync(2);
        var chain = await ChainAsync(app);
        var atKept = chain.Single(e => e.Seq == kept.Seq);
        await using (var db = app.NewDbContext())
        {
            await db.Database.ExecuteSqlAsync($"""DELETE FROM "audit_checkpoints" """);
            await RewriteFromAsync(db, chain[^6].Seq!.Value);
        }

        var refused = await admin.PostAsync("/api/v1/audit/checkpoint", null);
        var file = Path.Combine(app.Database.Folder, "kept-checkpoint.json");
        await File.WriteAllTextAsync(file, System.Text.Json.JsonSerializer.Serialize(kept, Mama.Http.MamaJson.Options));
        var proof = await Cli.CliRun.AgainstAsync(app, "audit", "verify", "--checkpoint", file);

        var problem = await refused.AssertProblemAsync(System.Net.HttpStatusCode.Conflict);
        Assert.Equal("audit_checkpoint_refused", problem.GetProperty("code").GetString());
        Assert.Equal(1, proof.ExitCode);
        Assert.Contains($"BROKEN (checkpoint_mismatch, event {atKept.Id})", proof.Output);
    }

    [Fact]
    public async Task RowsOutsideTheChainOrUnreadableAreFindingsAndNeverTakenForAVerification()
    {
        await using var app = await StartAsync();
        var chain = await ChainAsync(app);
        var forged = Forge(chain[^2]);
        forged.Action = AuditVerification.Action;
        forged.Detail = """{"ok":true,"checked":999999}""";
        forged.Seq = 0;
        forged.Hash = AuditChain.Genesis;
        await using (var db = app.NewDbContext())
            await InsertAsync(db, forged);
        var forgedId = await ForgedIdAsync(app);
        var zero = await VerifyAsync(app);

        await using (var db = app.NewDbContext())
        {
            await db.Database.ExecuteSqlAsync($"""DELETE FROM "audit_events" WHERE "Id" = {forgedId}""");
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Result" = 'garbage' WHERE "Id" = {chain[^3].Id}""");
        }
        var unreadable = await VerifyAsync(app);
        var last = await app.Service<AuditVerification>().LastAsync(CancellationToken.None);

        Assert.Equal(("event_inserted", forgedId), (zero.Problem?.Kind, zero.Problem?.EventId));
        Assert.Equal(("content_changed", chain[^3].Id), (unreadable.Problem?.Kind, unreadable.Problem?.EventId));
        Assert.NotNull(last);
        Assert.False(last.Ok); // the latest genuine verification, not the forged "ok" row
        Assert.NotEqual(999999, last.Checked);
    }

    /// <summary>Edits the event at <paramref name="fromSeq"/> and recomputes every hash after it, and the head: self-consistent.</summary>
    private static async Task RewriteFromAsync(MamaDbContext db, long fromSeq)
    {
        var prev = await db.AuditEvents.Where(e => e.Seq == fromSeq - 1).Select(e => e.Hash).SingleAsync();
        var tail = await db.AuditEvents.AsTracking().Where(e => e.Seq >= fromSeq).OrderBy(e => e.Seq).ToListAsync();
        tail[0].Detail = """{"organization":"forged"}""";
        foreach (var e in tail) e.Hash = prev = AuditChain.HashOf(prev!, e);
        await db.SaveChangesAsync();
        await db.Database.ExecuteSqlAsync($"""UPDATE "audit_chain" SET "Hash" = {prev}""");
    }

    [Fact]
    public async Task EventsWrittenWithTheBenchmarksUnchainedBaselineAreReportedAsInserted()
    {
        await using var app = await StartAsync();
        await app.RestartAsync(new Dictionary<string, string?> { ["Mama:Audit:Unchained"] = "true" });
        using (await app.SuperAdminAsync()) { } // a sign-in: a group-committed event
        long unchained;
        await using (var db = app.NewDbContext())
            unchained = await db.AuditEvents.Where(e => e.Seq == null).OrderBy(e => e.Id).Select(e => e.Id).FirstAsync();
        await app.RestartAsync();

        await AssertBrokenAsync(app, "event_inserted", unchained);
    }

    private async Task<MamaApp> StartAsync()
    {
        var app = NewApp();
        await app.InitializeAsync();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(6);
        return app;
    }

    private static async Task<List<AuditEvent>> ChainAsync(MamaApp app)
    {
        await using var db = app.NewDbContext();
        return await db.AuditEvents.AsNoTracking().Where(e => e.Seq != null).OrderBy(e => e.Seq).ToListAsync();
    }

    private static async Task<int> CountAsync(MamaApp app)
    {
        await using var db = app.NewDbContext();
        return await db.AuditEvents.CountAsync();
    }

    private static async Task<long> ForgedIdAsync(MamaApp app)
    {
        await using var db = app.NewDbContext();
        return await db.AuditEvents.Where(e => e.Actor == "forger").Select(e => e.Id).SingleAsync();
    }

    private static AuditEvent Forge(AuditEvent like) => new()
    {
        At = like.At,
        Actor = "forger",
        Action = "user.delete",
        UserIds = like.UserIds,
        Detail = "{}",
        Result = AuditResult.Success,
        StatusCode = 200,
    };

    /// <summary>A row written with plain SQL, as an attacker would, with whatever chain columns the forger chose.</summary>
    private static Task InsertAsync(MamaDbContext db, AuditEvent e)
    {
        object at = db.Database.IsSqlite() ? e.At.UtcTicks : e.At;
        return e.Seq is { } seq
            ? db.Database.ExecuteSqlRawAsync("""
                INSERT INTO "audit_events" ("At", "Actor", "Action", "UserIds", "Detail", "Result", "StatusCode", "Seq", "Hash")
                VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8})
                """, at, e.Actor, e.Action, e.UserIds, e.Detail, e.Result.ToString(), e.StatusCode, seq, e.Hash!)
            : db.Database.ExecuteSqlRawAsync("""
                INSERT INTO "audit_events" ("At", "Actor", "Action", "UserIds", "Detail", "Result", "StatusCode")
                VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6})
                """, at, e.Actor, e.Action, e.UserIds, e.Detail, e.Result.ToString(), e.StatusCode);
    }

    private static async Task<AuditVerifyResult> VerifyAsync(MamaApp app)
    {
        using var admin = await app.SuperAdminAsync();
        return await AuditChainTests.VerifyAsync(admin);
    }

    private static async Task AssertBrokenAsync(MamaApp app, string kind, long eventId)
    {
        var result = await VerifyAsync(app);
        Assert.False(result.Ok);
        Assert.Equal((kind, eventId), (result.Problem?.Kind, result.Problem?.EventId));
    }
}

public sealed class AuditTamperTestsOnSqlite : AuditTamperTests
{
    protected override MamaApp NewApp() => new SqliteApp();
}

public sealed class AuditTamperTestsOnPostgres : AuditTamperTests
{
    protected override MamaApp NewApp() => new PostgresApp();
}
