using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Audit;

/// <summary>The audit table locked by someone else for longer than the write timeout, on a second host with short audit settings.</summary>
public abstract class AuditFaultTests(MamaApp app)
{
    /// <summary>Takes the write lock on the audit table (the whole file on SQLite) and holds it until disposed.</summary>
    private Task<IAsyncDisposable> LockAuditTableAsync() => TableLock.HoldAsync(app.Database, "audit_events");

    [Fact]
    public async Task RequestsThatTimedOutOnTheAuditAnswer503AndNeverAppearInTheLogAndReadinessFollowsTheWriter()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["Mama:Audit:WriteTimeout"] = "00:00:01" });
        var (username, admin) = await SignedInAsync(host);
        Assert.Equal(HttpStatusCode.OK, (await host.CreateClient().GetAsync("/health/ready")).StatusCode);

        await using (await LockAuditTableAsync())
        {
            for (var i = 0; i < 3; i++)
            {
                var problem = await (await admin.GetAsync("/api/v1/users")).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
                Assert.Contains("audit", problem.GetProperty("detail").GetString()!, StringComparison.OrdinalIgnoreCase);
            }
            await MamaApp.EventuallyAsync(async () => (await host.CreateClient().GetAsync("/health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable,
                "readiness reports the audit writer stuck");
        }

        await MamaApp.EventuallyAsync(async () => (await host.CreateClient().GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK,
            "readiness recovers once the lock is gone", TimeSpan.FromSeconds(40));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/users")).StatusCode);

        // The writer is one thread: the event of the request that succeeded commits after the batch that was stuck ended.
        Assert.Equal(1, await CountAsync(username, "user.list"));
    }

    [Fact]
    public async Task AFullQueueAnswers503AtOnceAndNoneOfTheRefusedRequestsIsLoggedLater()
    {
        await using var host = app.StartHost(new Dictionary<string, string?>
        {
            ["Mama:Audit:WriteTimeout"] = "00:00:02",
            ["Mama:Audit:QueueSize"] = "2",
        });
        var (username, admin) = await SignedInAsync(host);

        await using (await LockAuditTableAsync())
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => admin.GetAsync("/api/v1/users")));

            Assert.All(responses, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
            var details = await Task.WhenAll(responses.Select(async r => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!));
            Assert.Contains(details, d => d.Contains("queue is full", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.CreateClient().GetAsync("/health/ready")).StatusCode);
        }

        await MamaApp.EventuallyAsync(async () => (await host.CreateClient().GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK,
            "readiness recovers once the lock is gone", TimeSpan.FromSeconds(40));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/users")).StatusCode);
        Assert.Equal(1, await CountAsync(username, "user.list"));
    }

    private async Task<(string Username, HttpClient Admin)> SignedInAsync(MamaHost host)
    {
        var (username, password, first) = await app.NewAdminAsync();
        first.Dispose();
        var admin = host.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await MamaApp.TokenAsync(admin, username, password)).AccessToken);
        return (username, admin);
    }

    private async Task<int> CountAsync(string actor, string action)
    {
        await using var db = app.NewDbContext();
        return await db.AuditEvents.CountAsync(e => e.Actor == actor && e.Action == action);
    }
}

public sealed class AuditFaultTestsOnSqlite(SqliteApp app) : AuditFaultTests(app), IClassFixture<SqliteApp>;
public sealed class AuditFaultTestsOnPostgres(PostgresApp app) : AuditFaultTests(app), IClassFixture<PostgresApp>;
