using System.Net.Http.Json;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Audit;

/// <summary>The chain with many events and, on PostgreSQL, two instances writing to one database at once.</summary>
public abstract class AuditChainScaleTests
{
    protected abstract MamaApp NewApp();

    [Fact]
    public async Task AHundredThousandEventsWrittenConcurrentlyVerify()
    {
        await using var app = NewApp();
        await app.InitializeAsync();
        var audit = app.Service<AuditLog>();

        for (var round = 0; round < 50; round++)
            await Task.WhenAll(Enumerable.Range(0, 2_000).Select(i => audit.WriteAsync(
                new AuditEntry(Actor.System, "test.bulk", AuditResult.Success, 200, [$"u{round}-{i}"], new { round, i }))));
        using var admin = await app.SuperAdminAsync();
        var result = await AuditChainTests.VerifyAsync(admin);

        Assert.True(result.Ok, result.Problem?.Message);
        Assert.True(result.Checked >= 100_000, $"{result.Checked} checked");
        Assert.Equal(result.HeadSeq, result.Checked);
    }
}

public sealed class AuditChainScaleTestsOnSqlite : AuditChainScaleTests
{
    protected override MamaApp NewApp() => new SqliteApp();
}

public sealed class AuditChainScaleTestsOnPostgres : AuditChainScaleTests
{
    protected override MamaApp NewApp() => new PostgresApp();

    [Fact]
    public async Task TwoInstancesWritingToOnePostgresAtOnceKeepOneDenseChainThatVerifies()
    {
        await using var app = NewApp();
        await app.InitializeAsync();
        await using var second = app.StartHost();
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(20);
        var (lookups, _) = await app.NewLookupClientAsync(admin);
        using var secondLookups = second.CreateClient();
        secondLookups.DefaultRequestHeaders.Add("X-API-Key", lookups.DefaultRequestHeaders.GetValues("X-API-Key").Single());
        using var secondAdmin = second.CreateClient();
        secondAdmin.DefaultRequestHeaders.Authorization = admin.DefaultRequestHeaders.Authorization;

        var work = new List<Task<HttpResponseMessage>>();
        for (var i = 0; i < 200; i++)
        {
            work.Add(lookups.GetAsync("/api/v1/keys/" + ids[i % ids.Count]));
            work.Add(secondLookups.GetAsync("/api/v1/keys/" + ids[(i + 7) % ids.Count]));
            if (i % 10 == 0)
                work.Add((i % 20 == 0 ? admin : secondAdmin).PatchAsJsonAsync($"/api/v1/users/{ids[i / 10]}", new { organization = "moved-" + i }));
        }
        var responses = await Task.WhenAll(work);
        var result = await AuditChainTests.VerifyAsync(admin);

        Assert.All(responses, r => Assert.True(r.IsSuccessStatusCode, $"{r.RequestMessage?.RequestUri}: {(int)r.StatusCode}"));
        Assert.True(result.Ok, result.Problem?.Message);
        await using var db = app.NewDbContext();
        var seqs = await db.AuditEvents.AsNoTracking().OrderBy(e => e.Seq).Select(e => e.Seq).ToListAsync();
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(s => (long?)s), seqs);
        Assert.True(await db.AuditEvents.CountAsync(e => e.Action == "key.lookup") >= 400);
    }
}
