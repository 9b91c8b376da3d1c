using System.Net;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>A resolve runs under the user's sync lease: while a sync or mint of the user is in flight, it changes nothing.</summary>
public abstract class ResolveLeaseTests(MamaApp app)
{
    [Fact]
    public async Task AResolveWhileAnotherWorkerHoldsTheUsersSyncLeaseIsRefusedWith409AndDeletesNothing()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var planted = PlantedKeys.NewKey();
        await app.PlantAsync(id, planted);
        Assert.Equal(SyncOutcome.Conflict, (await admin.CreateUsersAsync([UserTestData.Row(id)])).Sync.Single().State);
        long dbId;
        await using (var db = app.NewDbContext())
            dbId = (await db.KeyUsers.SingleAsync(u => u.UserId == id)).Id;

        await using (var inFlight = await app.Service<Leases>().TryTakeUserAsync(dbId, CancellationToken.None))
        {
            Assert.NotNull(inFlight);
            var problem = await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "replace" })).AssertProblemAsync(HttpStatusCode.Conflict);
            Assert.Contains("being synced", problem.GetProperty("detail").GetString());
            Assert.Equal(planted, app.LiteLlm.FindKeyByAlias(id)!.Key);
            await using var db = app.NewDbContext();
            Assert.Equal(SyncState.Conflict, (await db.KeyUsers.SingleAsync(u => u.UserId == id)).SyncState);
        }

        var resolved = await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "replace" })).ReadAsync<ResolveConflictResponse>();
        Assert.Equal((SyncOutcome.Synced, "synced"), (resolved.Sync.State, resolved.User.SyncState));
        Assert.NotEqual(planted, app.LiteLlm.FindKeyByAlias(id)!.Key);
        await using (var db = app.NewDbContext())
        {
            var user = await db.KeyUsers.SingleAsync(u => u.UserId == id);
            Assert.Equal((user.KeyHash, (string?)null), (app.LiteLlm.FindKeyByAlias(id)!.Token, user.SyncLeaseOwner));
        }
    }
}

public sealed class ResolveLeaseTestsOnSqlite(SqliteApp app) : ResolveLeaseTests(app), IClassFixture<SqliteApp>;
public sealed class ResolveLeaseTestsOnPostgres(PostgresApp app) : ResolveLeaseTests(app), IClassFixture<PostgresApp>;
