using System.Net;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Observability;
using Mama.Tests.Infrastructure;
using Mama.Tests.Observability;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Attack;

/// <summary>
/// Concurrent key lookups while the audit table is locked: each answers 503 with no key and no audit event, and the
/// metrics say so: no key counted as returned, each event that timed out counted once as an audit failure.
/// </summary>
public abstract class MetricsAttackTests(MamaApp app)
{
    [Fact]
    public async Task LookupsWhileTheAuditIsStalledCountNoKeyAsReturnedAndEachTimedOutEventOnceAsFailed()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["Mama:Audit:WriteTimeout"] = "00:00:01" });
        using var admin = await app.SuperAdminAsync();
        var tag = "ma" + Guid.NewGuid().ToString("N")[..8];
        var ids = await admin.CreateUsersAsync(3, organization: tag);
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = "c" + tag, service = "billing", scope = "all" }))
            .ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        using var lookup = host.CreateClient();
        lookup.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        // Warm: the client's first lookup reads and caches what it needs outside the lock.
        (await lookup.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { ids[0] } })).EnsureSuccessStatusCode();
        using var recorder = new MetricsRecorder(host.Services.GetRequiredService<MamaMetrics>().Meter);
        long before;
        await using (var db = app.NewDbContext()) before = await db.AuditEvents.MaxAsync(e => e.Id);

        HttpResponseMessage[] responses;
        await using (await TableLock.HoldAsync(app.Database, "audit_events"))
            responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => lookup.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { ids[i % 3] } })));
        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        // The writer is done with the batch that was stuck behind the lock (rolled back: every waiter gave up).
        var writer = host.Services.GetRequiredService<AuditLog>();
        await MamaApp.EventuallyAsync(() => Task.FromResult(writer.State() is { Queued: 0, BatchRunningFor: null }), "the audit writer is idle");

        await using var after = app.NewDbContext();
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
        Assert.DoesNotContain(bodies, b => b.Contains("sk-", StringComparison.Ordinal));
        Assert.Equal(0, await after.AuditEvents.CountAsync(e => e.Id > before && e.Action == "key.lookup"));
        Assert.Equal(0, recorder["mama.lookup.ids.found"]);
        var timedOut = bodies.Count(b => b.Contains("audit event timed out", StringComparison.Ordinal));
        Assert.True(timedOut > 0, string.Join('\n', bodies.Distinct()));
        Assert.Equal(timedOut, recorder["mama.audit.failures"]);
    }
}

public sealed class MetricsAttackTestsOnSqlite(SqliteApp app) : MetricsAttackTests(app), IClassFixture<SqliteApp>;
public sealed class MetricsAttackTestsOnPostgres(PostgresApp app) : MetricsAttackTests(app), IClassFixture<PostgresApp>;
