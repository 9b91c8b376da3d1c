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
}
