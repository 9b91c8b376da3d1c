using System.Diagnostics;
using System.Net;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// A change answers within <c>InlineSyncBudget</c> however slow the proxy is, the model check included. The bound
/// asserted (budget + 3 s) is a behaviour, not a benchmark: without it the answer takes at least the proxy's 10 s.
/// </summary>
public abstract class InlineBudgetTests(MamaApp app) : IAsyncLifetime
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Bound = Budget + TimeSpan.FromSeconds(3);

    public ValueTask InitializeAsync()
    {
        app.LiteLlm.SetLatency(TimeSpan.Zero);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => InitializeAsync();

    [Fact]
    public async Task ACreateAndAnEditAnswerWithinTheBudgetWhenEveryProxyCallTakesTenSecondsAndConvergeOnceItIsFastAgain()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["LiteLlm:InlineSyncBudget"] = "00:00:02" });
        using var admin = await SignInAsync(host);
        var edited = (await admin.CreateUsersAsync(1))[0];
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/models")).StatusCode); // a list is known, as after any page load
        app.LiteLlm.SetLatency(TimeSpan.FromSeconds(10)); // the cache has expired (0 s in tests): the model list must be fetched again

        var watch = Stopwatch.StartNew();
        var created = await admin.CreateUsersAsync([UserTestData.Row(UserTestData.NewId(), models: ["gpt-4o"])]);
        var createTook = watch.Elapsed;
        watch.Restart();
        var edit = await admin.EditAsync([edited], models: new { mode = "add", values = new[] { "gpt-4o-mini" } });
        var editTook = watch.Elapsed;

        Assert.True(createTook < Bound, $"the create took {createTook}");
        Assert.True(editTook < Bound, $"the edit took {editTook}");
        Assert.Equal("pending", Assert.Single(created.Sync).State);
        Assert.Equal("pending", Assert.Single(edit.Sync).State);

        app.LiteLlm.SetLatency(TimeSpan.Zero);
        var ids = new[] { created.Users[0].UserId, edited };
        await MamaApp.EventuallyAsync(async () => await CountSyncedAsync(ids) == 2, "both users synced once the proxy is fast again", TimeSpan.FromSeconds(60));
        Assert.Equal(["gpt-4o", "gpt-4o-mini"], app.LiteLlm.FindKeyByAlias(edited)!.Models.Order());
        Assert.Equal(["gpt-4o"], app.LiteLlm.FindKeyByAlias(created.Users[0].UserId)!.Models);
    }

    [Fact]
    public async Task WithNoModelListKnownYetASlowProxyMakesACreateA503WithinTheBudgetThatChangesNothing()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["LiteLlm:InlineSyncBudget"] = "00:00:02" });
        using var admin = await SignInAsync(host);
        app.LiteLlm.SetLatency(TimeSpan.FromSeconds(10));
        var id = UserTestData.NewId();

        var watch = Stopwatch.StartNew();
        var response = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(id, models: ["gpt-4o"]) } });
        var took = watch.Elapsed;

        var problem = await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.True(took < Bound, $"the create took {took}");
        Assert.Contains("could not be checked", problem.GetProperty("detail").GetString());
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => u.UserId == id));
    }

    private static async Task<HttpClient> SignInAsync(MamaHost host)
    {
        var client = host.CreateClient(new() { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = new("Bearer", (await MamaApp.TokenAsync(client, "admin", MamaApp.SuperAdminPassword)).AccessToken);
        return client;
    }

    private async Task<int> CountSyncedAsync(IReadOnlyCollection<string> ids)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncState == SyncState.Synced);
    }
}

public sealed class InlineBudgetTestsOnSqlite(SqliteApp app) : InlineBudgetTests(app), IClassFixture<SqliteApp>;
public sealed class InlineBudgetTestsOnPostgres(PostgresApp app) : InlineBudgetTests(app), IClassFixture<PostgresApp>;
