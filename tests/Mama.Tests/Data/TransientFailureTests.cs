using System.Net;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Data;

/// <summary>Transient database failures are retried, never answered as errors.</summary>
public sealed class TransientFailureTests(PostgresApp app) : IClassFixture<PostgresApp>
{
    [Fact]
    public async Task RequestsRightAfterTheServerDroppedEveryConnectionOfMamaSucceed()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3);
        (await admin.GetAsync("/api/v1/users")).EnsureSuccessStatusCode();

        // A database restart or failover as mama sees it: every pooled connection, the audit writer's among them, is gone.
        await using (var db = app.NewDbContext())
        {
            var dropped = await db.Database.SqlQueryRaw<bool>(
                "SELECT pg_terminate_backend(pid) AS \"Value\" FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").ToListAsync();
            Assert.NotEmpty(dropped);
            Assert.All(dropped, Assert.True);
        }

        var listed = await admin.GetAsync("/api/v1/users");
        var created = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(UserTestData.NewId()) } });
        var edited = await admin.EditAsync(ids, models: new { mode = "add", values = new[] { "gpt-4o-mini" } });

        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(3, edited.Changed.Count);
        Assert.All(edited.Sync, s => Assert.Equal("synced", s.State));
    }

    [Fact]
    public async Task ASerializationFailureIsRetriedAndTheChangeIsSavedAndAuditedOnce()
    {
        using var admin = await app.SuperAdminAsync();
        var org = "org-" + Guid.NewGuid().ToString("N")[..12];
        await FailInsertsAsync(org, onlyTheFirst: true);
        var id = UserTestData.NewId();

        var created = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(id, org) } });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await using var db = app.NewDbContext();
        Assert.Equal(1, await db.KeyUsers.CountAsync(u => u.Organization == org));
        Assert.Equal(1, await db.AuditEvents.CountAsync(e => e.Action == "user.create" && e.UserIds.Contains(" " + id + " ")));
    }

    [Fact]
    public async Task ASerializationFailureThatOutlastsTheRetriesIsA503AndNothingIsSaved()
    {
        using var admin = await app.SuperAdminAsync();
        var org = "org-" + Guid.NewGuid().ToString("N")[..12];
        await FailInsertsAsync(org, onlyTheFirst: false);

        var created = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(UserTestData.NewId(), org) } });

        await created.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        await using var db = app.NewDbContext();
        Assert.Equal(0, await db.KeyUsers.CountAsync(u => u.Organization == org));
    }

    /// <summary>A trigger that fails inserts of this organisation's users with 40001, once (a sequence does not roll back) or always.</summary>
    private async Task FailInsertsAsync(string org, bool onlyTheFirst)
    {
        var name = org.Replace('-', '_');
        var condition = onlyTheFirst ? $"nextval('{name}_attempts') = 1" : "true";
        string[] statements =
        [
            $"CREATE SEQUENCE {name}_attempts",
            $"""
            CREATE FUNCTION {name}_fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {condition} THEN RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = 'serialization_failure'; END IF;
                RETURN NEW;
            END $$
            """,
            $"""
            CREATE TRIGGER {name}_fail BEFORE INSERT ON users FOR EACH ROW
            WHEN (NEW."Organization" = '{org}') EXECUTE FUNCTION {name}_fail()
            """,
        ];
        await using var db = app.NewDbContext();
        foreach (var sql in statements) await db.Database.ExecuteSqlRawAsync(sql);
    }
}
