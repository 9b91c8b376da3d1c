using Mama.Audit;
using Mama.Http;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

/// <summary>Add users' early check of user IDs: which exist is user information, so only admins ask, and each call is audited with counts.</summary>
public abstract class UserIdCheckTests(MamaApp app)
{
    [Fact]
    public async Task AnAdminLearnsWhichIdsAreTakenInOneCallAuditedAsOneEventWithCountsOnly()
    {
        using var admin = await app.SuperAdminAsync();
        var existing = await admin.CreateUsersAsync(2);
        var fresh = UserTestData.NewId();
        var actor = new Actor("checker-" + Guid.NewGuid().ToString("N")[..8], "203.0.113.9", null);

        var taken = await app.Service<UserService>().TakenAsync([existing[0], fresh, existing[1], "not valid!", existing[0]], actor, CancellationToken.None);

        Assert.Equal(existing.Order(), taken.Select(t => t.UserId).Order());
        Assert.All(taken, t => Assert.False(t.BeingDeleted));
        await using var db = app.NewDbContext();
        var audit = Assert.Single(await db.AuditEvents.AsNoTracking().Where(e => e.Actor == actor.Name).ToListAsync());
        Assert.Equal(("user.check_ids", AuditResult.Success, 200), (audit.Action, audit.Result, audit.StatusCode));
        Assert.Equal("""{"asked":3,"taken":2}""", audit.Detail.Replace(" ", ""));
        // What the call revealed is which IDs exist: those are its targets; an ID asked about and not found is not recorded.
        Assert.DoesNotContain(fresh, audit.UserIds + audit.Detail);
        Assert.Contains(existing[0], audit.UserIds);
        Assert.Contains(existing[1], audit.UserIds);
    }

    [Fact]
    public async Task AnApiClientMayNotAskAndItsAttemptIsAuditedAsRefused()
    {
        using var admin = await app.SuperAdminAsync();
        var existing = (await admin.CreateUsersAsync(1))[0];
        var client = new Actor(Actor.ApiClientPrefix + "probe-" + Guid.NewGuid().ToString("N")[..8], "203.0.113.10", null);

        var refused = await Assert.ThrowsAsync<ProblemException>(() => app.Service<UserService>().TakenAsync([existing], client, CancellationToken.None));

        Assert.Equal((403, "admins_only"), (refused.Status, refused.Code));
        Assert.DoesNotContain(existing, refused.Message);
        await using var db = app.NewDbContext();
        var audit = Assert.Single(await db.AuditEvents.AsNoTracking().Where(e => e.Actor == client.Name).ToListAsync());
        Assert.Equal(("user.check_ids", AuditResult.Failure, 403), (audit.Action, audit.Result, audit.StatusCode));
        Assert.DoesNotContain(existing, audit.UserIds + audit.Detail);
    }
}

public sealed class UserIdCheckTestsOnSqlite(SqliteApp app) : UserIdCheckTests(app), IClassFixture<SqliteApp>;

public sealed class UserIdCheckTestsOnPostgres(PostgresApp app) : UserIdCheckTests(app), IClassFixture<PostgresApp>;
