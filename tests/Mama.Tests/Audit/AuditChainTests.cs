using System.Net;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Audit;

/// <summary>The chain on the fixture's untouched log: concurrent writers of every kind leave it dense and intact.</summary>
public abstract class AuditChainTests(MamaApp app)
{
    [Fact]
    public async Task LookupsRefusalsAndChangesWrittenConcurrentlyLeaveADenseChainThatVerifies()
    {
        using var admin = await app.SuperAdminAsync();
        var (lookups, _) = await app.NewLookupClientAsync(admin);
        var ids = await admin.CreateUsersAsync(10);
        using var anonymous = app.CreateClient();

        // Group-committed reads, refusals and changes staged in their own transactions, all at once.
        var work = new List<Task>();
        for (var i = 0; i < 60; i++)
        {
            work.Add(lookups.GetAsync("/api/v1/keys/" + ids[i % ids.Count]));
            work.Add(anonymous.GetAsync("/api/v1/keys/" + ids[0]));
            if (i % 6 == 0) work.Add(admin.EditAsync([ids[i / 6]], services: new { mode = "add", values = new[] { "svc" + i } }));
            if (i % 20 == 0) work.Add(admin.PostAsync("/api/v1/audit/checkpoint", null));
        }
        await Task.WhenAll(work);

        var result = await VerifyAsync(admin);
        await using var db = app.NewDbContext();
        var seqs = await db.AuditEvents.AsNoTracking().Where(e => e.Seq != null).OrderBy(e => e.Seq).Select(e => e.Seq!.Value).ToListAsync();
        var head = await db.AuditChainHead.AsNoTracking().SingleAsync();

        Assert.True(result.Ok, result.Problem?.Message);
        Assert.Null(result.Problem);
        Assert.Equal(0, await db.AuditEvents.CountAsync(e => e.Seq == null));
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(s => (long)s), seqs); // dense, from 1, in commit order
        Assert.Equal(result.HeadSeq, result.Checked);
        Assert.Equal(head.Seq, seqs[^1]);
        Assert.True(result.Checkpoints >= 1 && result.SignedThroughSeq > 0);
    }

    [Fact]
    public async Task VerificationsRunWhileLookupsAreWrittenAndCheckpointsSignedFindNothingWrong()
    {
        using var admin = await app.SuperAdminAsync();
        var (lookups, _) = await app.NewLookupClientAsync(admin);
        var ids = await admin.CreateUsersAsync(3);
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await lookups.GetAsync("/api/v1/keys/" + ids[(w + i) % ids.Count]);
                if (i % 25 == 0) await admin.PostAsync("/api/v1/audit/checkpoint", null);
            }
        })).ToList();

        var results = new List<AuditVerifyResult>();
        for (var i = 0; i < 4; i++) results.Add(await VerifyAsync(admin));
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.All(results, r => Assert.True(r.Ok, r.Problem?.Message));
        Assert.True(results[^1].HeadSeq > results[0].HeadSeq, "events were written while verifying");
    }

    [Fact]
    public async Task EachVerificationIsAuditedWithItsOutcomeAndTheLatestCheckpointCanBeExported()
    {
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(1);
        var signed = await (await admin.PostAsync("/api/v1/audit/checkpoint", null)).ReadAsync<AuditCheckpointView>();
        var latest = await (await admin.GetAsync("/api/v1/audit/checkpoint")).ReadAsync<AuditCheckpointView>();
        var result = await VerifyAsync(admin);

        await using var db = app.NewDbContext();
        var recorded = await db.AuditEvents.AsNoTracking().Where(e => e.Action == AuditVerification.Action).OrderByDescending(e => e.Id).FirstAsync();
        var last = await app.Service<AuditVerification>().LastAsync(CancellationToken.None);

        Assert.True(latest.Seq >= signed.Seq);
        Assert.Equal(64, signed.Hash.Length);
        Assert.True(app.Service<AuditCheckpointSigner>().IsValid(latest.ToCheckpoint()));
        Assert.False(app.Service<AuditCheckpointSigner>().IsValid((latest with { PrevSignature = "0" + latest.PrevSignature }).ToCheckpoint()));
        Assert.Equal(("admin", AuditResult.Success), (recorded.Actor, recorded.Result));
        Assert.Contains($"\"checked\":{result.Checked}", recorded.Detail);
        Assert.NotNull(last);
        Assert.True(last.Ok);
        Assert.Equal(result.Checked, last.Checked);
    }

    [Fact]
    public async Task NeitherAnonymousCallersNorApiClientsCanVerifyAndOnlyASuperAdminSignsACheckpointOnDemand()
    {
        var (_, _, admin) = await app.NewAdminAsync();
        var (lookups, _) = await app.NewLookupClientAsync(await app.SuperAdminAsync());
        using var anonymous = app.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/audit/verify")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await lookups.GetAsync("/api/v1/audit/verify")).StatusCode); // an API key is no admin's credential
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostAsync("/api/v1/audit/checkpoint", null)).StatusCode);
        Assert.True((await VerifyAsync(admin)).Ok);
    }

    internal static async Task<AuditVerifyResult> VerifyAsync(HttpClient admin) =>
        await (await admin.GetAsync("/api/v1/audit/verify")).ReadAsync<AuditVerifyResult>();
}

public sealed class AuditChainTestsOnSqlite(SqliteApp app) : AuditChainTests(app), IClassFixture<SqliteApp>;
public sealed class AuditChainTestsOnPostgres(PostgresApp app) : AuditChainTests(app), IClassFixture<PostgresApp>;
