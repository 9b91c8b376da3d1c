using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Mama.Audit;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>The sync engine against the emulator over real HTTP, with the faults a real proxy has.</summary>
public abstract class SyncFaultTests(MamaApp app) : IAsyncLifetime
{
    public ValueTask InitializeAsync()
    {
        app.LiteLlm.SetDown(false);
        app.LiteLlm.SetErrorRate(0);
        app.LiteLlm.SetLatency(TimeSpan.Zero);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => InitializeAsync();

    [Fact]
    public async Task LiteLlmDownDuringA200UserSyncLeavesAllPendingThenAllSyncedWithinTwoCyclesWithNoDuplicate()
    {
        using var admin = await app.SuperAdminAsync();
        var org = NewOrg();
        var ids = Enumerable.Range(0, 200).Select(_ => UserTestData.NewId()).ToList();
        // Model names are validated against the proxy's list; with the proxy down mama uses its last copy, so fetch one first.
        (await admin.GetAsync("/api/v1/models")).EnsureSuccessStatusCode();
        app.LiteLlm.SetDown(true);

        var created = await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id, org)));

        Assert.All(created.Sync, s => Assert.Equal("pending", s.State));
        Assert.Equal(200, await CountAsync(org, SyncState.Pending));
        var reconciler = app.Service<KeyReconciler>();
        await MamaApp.EventuallyAsync(() => Task.FromResult(reconciler.ProxyDown), "the reconciler notices the outage");

        app.LiteLlm.SetDown(false);
        var before = reconciler.AliveCycles;
        await MamaApp.EventuallyAsync(() => Task.FromResult(reconciler.AliveCycles >= before + 2), "two reconcile cycles with the proxy up");

        Assert.Equal(200, await CountAsync(org, SyncState.Synced));
        await AssertProxyMatchesDatabaseAsync(org);
    }

    [Fact]
    public async Task ThirtyPercentRandom500sConvergeWithNoOrphanAndNoDuplicate()
    {
        using var admin = await app.SuperAdminAsync();
        var org = NewOrg();
        app.LiteLlm.SetErrorRate(0.3);

        var ids = await admin.CreateUsersAsync(60, organization: org);
        var edit = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users")
        {
            Content = JsonContent.Create(new { user_ids = ids.Take(30), allowed_models = new { mode = "add", values = new[] { "gpt-4o-mini" } } }, options: Mama.Http.MamaJson.Options),
        };
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(edit)).StatusCode);
        var deleted = ids.Skip(50).ToList();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = deleted })).StatusCode);

        await MamaApp.EventuallyAsync(async () => await CountAsync(org, SyncState.Synced) == 50 && await TombstonesAsync(org) == 0,
            "every user synced and every deletion finished despite the errors", TimeSpan.FromSeconds(60));
        app.LiteLlm.SetErrorRate(0);
        await AssertProxyMatchesDatabaseAsync(org);
        Assert.All(ids.Take(30), id => Assert.Contains("gpt-4o-mini", app.LiteLlm.FindKeyByAlias(id)!.Models));
        Assert.All(deleted, id => Assert.Null(app.LiteLlm.FindKeyByAlias(id)));
    }

    [Fact]
    public async Task ATenSecondStallLetsTheRequestReturnWithinItsBudgetWithTheUsersPending()
    {
        using var admin = app.CreateClient();
        admin.Timeout = TimeSpan.FromSeconds(15); // the stall alone is 10 s per call: waiting for it would exceed this
        admin.DefaultRequestHeaders.Authorization = new("Bearer", (await MamaApp.TokenAsync(admin, "admin", MamaApp.SuperAdminPassword)).AccessToken);
        var org = NewOrg();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/models")).StatusCode); // the model list is known, as after any page load
        app.LiteLlm.SetLatency(TimeSpan.FromSeconds(10));

        var created = await admin.CreateUsersAsync(Enumerable.Range(0, 3).Select(_ => UserTestData.Row(UserTestData.NewId(), org)));

        Assert.All(created.Sync, s => Assert.Equal("pending", s.State));
        app.LiteLlm.SetLatency(TimeSpan.Zero);
        await MamaApp.EventuallyAsync(async () => await CountAsync(org, SyncState.Synced) == 3, "the reconciler finishes after the stall", TimeSpan.FromSeconds(60));
        await AssertProxyMatchesDatabaseAsync(org);
    }

    [Fact]
    public async Task MamaStoppedInTheMiddleOfASyncAndStartedAgainConverges()
    {
        using var admin = await app.SuperAdminAsync();
        var org = NewOrg();
        app.LiteLlm.SetLatency(TimeSpan.FromMilliseconds(150));
        var request = admin.PostJsonAsync("/api/v1/users", new { users = Enumerable.Range(0, 80).Select(_ => UserTestData.Row(UserTestData.NewId(), org)).ToArray() });
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.GetKeys().Count(k => OrgOf(k) == org) >= 3), "the sync has started");

        await app.RestartAsync(); // stops mama mid-sync, then starts a new instance on the same database
        try { await request; } catch (Exception e) when (e is HttpRequestException or OperationCanceledException or ObjectDisposedException) { }
        app.LiteLlm.SetLatency(TimeSpan.Zero);

        await MamaApp.EventuallyAsync(async () => await CountAsync(org, SyncState.Synced) == 80, "the restarted mama finishes the sync", TimeSpan.FromSeconds(60));
        await AssertProxyMatchesDatabaseAsync(org);
    }

    [Fact]
    public async Task AKeyDeletedBehindMamasBackIsRecreatedWithTheSameValueAndTheRepairIsAudited()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var changed = (await admin.CreateUsersAsync(1, models: ["gpt-4o"]))[0];
        var original = app.LiteLlm.FindKeyByAlias(id)!.Key!;
        using var proxy = ProxyClient();
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/delete", new { keys = new[] { original } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/update", new { key = app.LiteLlm.FindKeyByAlias(changed)!.Key, models = new[] { "gpt-4o", "sneaky-extra" } })).StatusCode);

        await app.Service<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, CancellationToken.None);

        Assert.Equal(original, app.LiteLlm.FindKeyByAlias(id)!.Key);
        Assert.Equal(["gpt-4o"], app.LiteLlm.FindKeyByAlias(changed)!.Models);
        await using var db = app.NewDbContext();
        var repairs = await db.AuditEvents.Where(e => e.Action == "key.repair" && (e.UserIds == " " + id + " " || e.UserIds == " " + changed + " ")).ToListAsync();
        Assert.Equal(2, repairs.Count);
        Assert.All(repairs, r => Assert.Equal(("system", AuditResult.Success), (r.Actor, r.Result)));
        Assert.Contains(repairs, r => r.Detail.Contains("recreated"));
        Assert.Contains(repairs, r => r.Detail.Contains("models"));
        Assert.All(repairs, r => Assert.DoesNotContain(original, r.Detail));
    }

    [Fact]
    public async Task AnOrphanKeyMarkedAsMamasIsDeletedAndAKeyMamaDidNotCreateIsUntouchedThroughout()
    {
        using var proxy = ProxyClient();
        var foreignAlias = "foreign-" + Guid.NewGuid().ToString("N")[..8];
        var orphanAlias = "orphan-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/generate", new { key_alias = foreignAlias, models = new[] { "gpt-4o" }, metadata = new { team = "data" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/generate", new { key_alias = orphanAlias, models = new[] { "gpt-4o" }, metadata = new { managed_by = "mama", organization = "gone" } })).StatusCode);
        var foreign = app.LiteLlm.FindKeyByAlias(foreignAlias)!;

        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3);
        await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = ids.Take(1) });
        await app.Service<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, CancellationToken.None);

        Assert.Null(app.LiteLlm.FindKeyByAlias(orphanAlias));
        var after = app.LiteLlm.FindKeyByAlias(foreignAlias)!;
        Assert.Equal((foreign.Token, foreign.Blocked, foreign.Metadata.ToJsonString()), (after.Token, after.Blocked, after.Metadata.ToJsonString()));
        Assert.Equal(foreign.Models, after.Models);
        Assert.Contains(app.LiteLlm.GetKeys(), k => k.Token == LiteLlmClient.HashKey(MamaApp.MasterKey)); // the master key's own row too
        await using var db = app.NewDbContext();
        Assert.Equal(1, await db.AuditEvents.CountAsync(e => e.Action == "key.repair" && e.Detail.Contains("orphan_deleted") && e.UserIds == " " + orphanAlias + " "));
    }

    private HttpClient ProxyClient()
    {
        var client = new HttpClient { BaseAddress = app.Emulator.BaseUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MamaApp.MasterKey);
        return client;
    }

    private static string NewOrg() => "org-" + Guid.NewGuid().ToString("N")[..10];

    private static string? OrgOf(Mama.LiteLlmEmulator.EmulatedKey key) => key.Metadata["organization"]?.GetValue<string>();

    private async Task<int> CountAsync(string org, SyncState state)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.CountAsync(u => u.Organization == org && u.DeletedAt == null && u.SyncState == state);
    }

    private async Task<int> TombstonesAsync(string org)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.CountAsync(u => u.Organization == org && u.DeletedAt != null);
    }

    /// <summary>Exactly one proxy key per live user of the organisation, with the user's own key value, alias and models.</summary>
    private async Task AssertProxyMatchesDatabaseAsync(string org)
    {
        await using var db = app.NewDbContext();
        var users = await db.KeyUsers.AsNoTracking().Include(u => u.AllowedModels).Where(u => u.Organization == org && u.DeletedAt == null).ToListAsync();
        var keys = app.LiteLlm.GetKeys().Where(k => OrgOf(k) == org).ToList();
        Assert.Equal(users.Count, keys.Count);
        Assert.Equal(keys.Count, keys.Select(k => k.KeyAlias).Distinct().Count());
        foreach (var user in users)
        {
            var key = Assert.Single(keys, k => k.KeyAlias == user.UserId);
            Assert.Equal(user.KeyHash, key.Token);
            Assert.Equal(user.AllowedModels.Select(m => m.Name).Order(), key.Models.Order());
        }
    }
}

public sealed class SyncFaultTestsOnSqlite(SqliteApp app) : SyncFaultTests(app), IClassFixture<SqliteApp>;
public sealed class SyncFaultTestsOnPostgres(PostgresApp app) : SyncFaultTests(app), IClassFixture<PostgresApp>;
