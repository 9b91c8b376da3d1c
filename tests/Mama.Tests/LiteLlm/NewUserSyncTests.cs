using System.Net;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// A user mama has just created, with a key it made itself, costs the proxy one call: the generate, never a
/// <c>/key/info</c> first. Everything that may already be on the proxy is still asked for.
/// </summary>
public abstract class NewUserSyncTests(MamaApp app) : IAsyncLifetime
{
    private bool _restarted;

    public ValueTask InitializeAsync()
    {
        app.LiteLlm.KeyPolicy.StallGenerateAfterStore = false;
        app.LiteLlm.SetLatency(TimeSpan.Zero, "/key/generate");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await InitializeAsync();
        if (_restarted) await app.RestartAsync();
    }

    [Fact]
    public async Task NewUsersTheCreatesOwnSyncHasNotReachedWithinItsBudgetAreStillPushedByItOneCallEach()
    {
        // Two calls at a time, 100 ms each: twenty users take about a second, twice the budget, so the reconciler's turn comes first.
        await app.RestartAsync(new Dictionary<string, string?> { ["LiteLlm:InlineSyncBudget"] = "00:00:00.500", ["LiteLlm:MaxConcurrency"] = "2" });
        _restarted = true;
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.SetLatency(TimeSpan.FromMilliseconds(100), "/key/generate");
        var ids = Enumerable.Range(0, 20).Select(_ => UserTestData.NewId()).ToList();

        var created = await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id)));

        Assert.Contains(created.Sync, s => s.State == SyncOutcome.Pending);
        await MamaApp.EventuallyAsync(async () => (await UsersAsync(ids)).All(u => u.SyncState == SyncState.Synced), "every user is synced");
        var hashes = await HashesAsync(ids);
        Assert.All(app.LiteLlm.Calls.Snapshot().Where(c => hashes.Contains(c.Token)), c => Assert.Equal((1, 1), (c.Calls, c.Generated)));
        Assert.DoesNotContain(app.LiteLlm.Requests.Snapshot(), r => hashes.Any(hash => r.Url.Contains(hash, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task FiftyUsersCreatedInOneCallCostOneGenerateEachAndNoKeyInfo()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = Enumerable.Range(0, 50).Select(_ => UserTestData.NewId()).ToList();

        var created = await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id)));

        Assert.All(created.Sync, s => Assert.Equal(SyncOutcome.Synced, s.State));
        var hashes = await HashesAsync(ids);
        var calls = app.LiteLlm.Calls.Snapshot().Where(c => hashes.Contains(c.Token)).ToList();
        Assert.Equal(50, calls.Count);
        Assert.All(calls, c => Assert.Equal((1, 1), (c.Calls, c.Generated)));
        var urls = app.LiteLlm.Requests.Snapshot().Select(r => r.Url).ToList();
        Assert.DoesNotContain(urls, url => hashes.Any(hash => url.Contains(hash, StringComparison.Ordinal)));
        Assert.All(ids, id => Assert.Equal(hashes[ids.IndexOf(id)], app.LiteLlm.FindKeyByAlias(id)!.Token));
    }

    [Fact]
    public async Task AKeyAnAdminBringsIsStillLookedUpOnTheProxyAndAdoptedNotGeneratedAgain()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var key = PlantedKeys.NewKey();
        await app.PlantAsync(id, key);
        var hash = LiteLlmClient.HashKey(key);

        var created = await admin.CreateUsersAsync([new { user_id = id, organization = "acme", allowed_models = new[] { "gpt-4o" }, key }]);

        Assert.Equal(SyncOutcome.Synced, created.Sync.Single().State);
        Assert.Contains(app.LiteLlm.Requests.Snapshot(), r => r.Url == "/key/info?key=" + hash);
        Assert.Equal(1, app.LiteLlm.Calls.Snapshot().Single(c => c.Token == hash).Generated); // the planting only
        Assert.Equal("mama", app.LiteLlm.FindKeyByAlias(id)!.Metadata["managed_by"]?.GetValue<string>());
    }

    [Fact]
    public async Task AJustCreatedUserWhoseGenerateAnswerIsLostConvergesOnItsOwnKeyWithoutAConflict()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        // The proxy stores the key and holds its answer past mama's timeout: the answer is lost, the key is there.
        app.LiteLlm.KeyPolicy.StallGenerateAfterStore = true;

        var created = await admin.CreateUsersAsync([UserTestData.Row(id)]);

        Assert.Equal(SyncOutcome.Pending, created.Sync.Single().State);
        await MamaApp.EventuallyAsync(async () => (await UserAsync(id)).SyncState == SyncState.Synced, "the retry finds the key and records the user synced");
        var user = await UserAsync(id);
        Assert.Equal(user.KeyHash, Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == id).Token);
        var calls = app.LiteLlm.Calls.Snapshot().Single(c => c.Token == user.KeyHash);
        Assert.True(calls.Calls >= 2, "the retry asked for the key before anything else");
        Assert.Contains(app.LiteLlm.Requests.Snapshot(), r => r.Url == "/key/info?key=" + user.KeyHash);
    }

    [Fact]
    public async Task AKeyCreatedUnaskedThatTheProxyHoldsAlreadyIsBroughtToSpecNotCalledAConflict()
    {
        var id = UserTestData.NewId();
        var key = PlantedKeys.NewKey();
        await app.PlantAsync(id, key, metadata: new { managed_by = "mama", organization = "acme" });
        var spec = new KeySpec(id, ["gpt-4o", "gpt-4o-mini"], "acme", Blocked: false);

        var result = await app.Service<KeySync>().EnsureKeyAsync(key, spec, CancellationToken.None, absent: true);

        Assert.Equal("updated", result);
        var onProxy = Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == id);
        Assert.Equal(LiteLlmClient.HashKey(key), onProxy.Token);
        Assert.Equal(["gpt-4o", "gpt-4o-mini"], onProxy.Models.Order());
    }

    [Fact]
    public async Task AKeyCreatedUnaskedWhoseAliasAnotherKeyHoldsIsAConflictAndTheOtherKeyIsLeftAsItIs()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var theirs = PlantedKeys.NewKey();
        await app.PlantAsync(id, theirs);

        var created = await admin.CreateUsersAsync([UserTestData.Row(id)]);

        Assert.Equal(SyncOutcome.Conflict, created.Sync.Single().State);
        var onProxy = Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == id);
        Assert.Equal((LiteLlmClient.HashKey(theirs), "ops"), (onProxy.Token, onProxy.Metadata["team"]?.GetValue<string>()));
        Assert.Equal(SyncState.Conflict, (await UserAsync(id)).SyncState);
    }

    private async Task<List<string>> HashesAsync(List<string> ids)
    {
        await using var db = app.NewDbContext();
        var rows = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToDictionaryAsync(u => u.UserId, u => u.KeyHash);
        return ids.Select(id => rows[id]).ToList();
    }

    private async Task<List<User>> UsersAsync(List<string> ids)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
    }

    private async Task<User> UserAsync(string id)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id);
    }
}

public sealed class NewUserSyncTestsOnSqlite(SqliteApp app) : NewUserSyncTests(app), IClassFixture<SqliteApp>;
public sealed class NewUserSyncTestsOnPostgres(PostgresApp app) : NewUserSyncTests(app), IClassFixture<PostgresApp>;

/// <summary>On a proxy that mints every key, a new user costs one mint: nothing asks for the key mama made, which was never sent.</summary>
public abstract class NewUserMintingSyncTests(MamaApp app) : IAsyncLifetime
{
    public ValueTask InitializeAsync()
    {
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = false;
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task OnceTheProxyIsKnownToMintEachNewUserCostsOneMintAndNoKeyInfo()
    {
        using var admin = await app.SuperAdminAsync();
        // The first user teaches mama that the proxy refuses custom keys.
        Assert.Equal(SyncOutcome.Synced, (await admin.CreateUsersAsync([UserTestData.Row(UserTestData.NewId())])).Sync.Single().State);
        Assert.Equal(ProxyState.Refused, await app.Service<ProxyState>().CustomKeysAsync(CancellationToken.None));
        var minted = app.LiteLlm.KeyPolicy.MintedKeys;
        app.LiteLlm.Requests.Clear();

        var ids = Enumerable.Range(0, 20).Select(_ => UserTestData.NewId()).ToList();
        var created = await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id)));

        Assert.All(created.Sync, s => Assert.Equal(SyncOutcome.Synced, s.State));
        var keyCalls = app.LiteLlm.Requests.Snapshot().Where(r => r.Url.StartsWith("/key/", StringComparison.Ordinal)).ToList();
        Assert.Equal(20, keyCalls.Count);
        Assert.All(keyCalls, r => Assert.Equal(("POST", "/key/generate"), (r.Method, r.Url)));
        Assert.Equal(minted + 20, app.LiteLlm.KeyPolicy.MintedKeys);
        await using var db = app.NewDbContext();
        var users = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
        Assert.All(users, u => Assert.Equal(u.KeyHash, app.LiteLlm.FindKeyByAlias(u.UserId)!.Token));
    }
}

public sealed class NewUserMintingSyncTestsOnSqlite(SqliteApp app) : NewUserMintingSyncTests(app), IClassFixture<SqliteApp>;
public sealed class NewUserMintingSyncTestsOnPostgres(PostgresApp app) : NewUserMintingSyncTests(app), IClassFixture<PostgresApp>;
