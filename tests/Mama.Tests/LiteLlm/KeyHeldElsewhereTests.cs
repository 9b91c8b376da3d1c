using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Mama.ApiClients;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// A user created with a key value the proxy holds under another alias (or none): that key is someone else's, so the
/// user is in conflict and nothing changes on the proxy; replacing gives the user a new key of its own.
/// </summary>
public abstract class KeyHeldElsewhereTests(MamaApp app)
{
    [Theory]
    [InlineData("someone-else")]
    [InlineData(null)]
    public async Task AUserCreatedWithAKeyTheProxyHoldsUnderAnotherAliasIsAConflictThatChangesNothingOnTheProxy(string? alias)
    {
        using var admin = await app.SuperAdminAsync();
        var key = PlantedKeys.NewKey();
        var planted = await PlantAsync(alias is null ? null : alias + "-" + Guid.NewGuid().ToString("N")[..8], key);
        var before = app.LiteLlm.FindKey(planted)!.Row.ToJsonString();
        var id = UserTestData.NewId();
        app.LiteLlm.Requests.Clear();

        var created = await admin.CreateUsersAsync([new { user_id = id, allowed_models = new[] { "gpt-4o", "gpt-4o-mini" }, key }]);

        Assert.Equal(SyncOutcome.Conflict, created.Sync.Single().State);
        var user = created.Users.Single();
        Assert.Equal("conflict", user.SyncState);
        Assert.Contains("the proxy holds this key under another alias", user.SyncError, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, app.LiteLlm.FindKey(planted)!.Row.ToJsonString());
        Assert.DoesNotContain(app.LiteLlm.Requests.Snapshot(), r => r.Method == "POST" && r.Url.StartsWith("/key/update", StringComparison.Ordinal));
        Assert.Null(app.LiteLlm.FindKeyByAlias(id));
        var (client, _) = await app.NewLookupClientAsync(admin);
        var found = await (await client.GetAsync($"/api/v1/keys/{id}")).ReadAsync<LookedUpUser>();
        Assert.Equal(("conflict", false), (found.SyncState, found.Usable));

        // The reconciler leaves it alone, like any conflict.
        await app.Service<KeyReconciler>().RetryDueAsync(CancellationToken.None);
        Assert.Equal(before, app.LiteLlm.FindKey(planted)!.Row.ToJsonString());
    }

    [Fact]
    public async Task MamasOwnKeyRenamedInLiteLlmIsStillRepairedByTheDriftCheck()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var hash = app.LiteLlm.FindKeyByAlias(id)!.Token;
        using var proxy = ProxyClient();
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/update", new { key = hash, key_alias = "renamed-" + id })).StatusCode);

        await app.Service<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, CancellationToken.None);

        Assert.Equal(id, app.LiteLlm.FindKey(hash)!.KeyAlias);
        await using var db = app.NewDbContext();
        Assert.Equal(SyncState.Synced, (await db.KeyUsers.SingleAsync(u => u.UserId == id)).SyncState);
    }

    [Fact]
    public async Task ReplacingGivesTheUserANewKeyAndLeavesTheKeyUnderTheOtherAliasAlone()
    {
        using var admin = await app.SuperAdminAsync();
        var (id, key, planted) = await HeldElsewhereUserAsync(admin);
        var before = app.LiteLlm.FindKey(planted)!.Row.ToJsonString();

        var resolved = await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "replace" })).ReadAsync<ResolveConflictResponse>();

        Assert.Equal((SyncOutcome.Synced, "synced"), (resolved.Sync.State, resolved.User.SyncState));
        Assert.Equal(before, app.LiteLlm.FindKey(planted)!.Row.ToJsonString());
        var (client, _) = await app.NewLookupClientAsync(admin);
        var found = await (await client.GetAsync($"/api/v1/keys/{id}")).ReadAsync<LookedUpUser>();
        Assert.True(found.Usable);
        Assert.NotEqual(key, found.Key);
        Assert.Equal(found.Key, app.LiteLlm.FindKeyByAlias(id)!.Key);
        await using var db = app.NewDbContext();
        var resolve = await db.AuditEvents.SingleAsync(e => e.Action == "user.resolve" && e.UserIds.Contains(" " + id + " "));
        Assert.True(JsonDocument.Parse(resolve.Detail).RootElement.GetProperty("new_key").GetBoolean());
        Assert.DoesNotContain(key, resolve.Detail);
        Assert.DoesNotContain(found.Key!, resolve.Detail);
    }

    [Fact]
    public async Task ImportingIsRefusedWhenTheProxyHoldsNoKeyUnderTheUsersAlias()
    {
        using var admin = await app.SuperAdminAsync();
        var (id, key, _) = await HeldElsewhereUserAsync(admin);

        var problem = await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "import", key })).AssertProblemAsync(HttpStatusCode.Conflict);

        Assert.Contains("Replace gives the user a new key", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(key, problem.GetRawText());
        await using var db = app.NewDbContext();
        var user = await db.KeyUsers.SingleAsync(u => u.UserId == id);
        Assert.Equal((SyncState.Conflict, LiteLlmClient.HashKey(key)), (user.SyncState, user.KeyHash));
    }

    private async Task<(string Id, string Key, string PlantedHash)> HeldElsewhereUserAsync(HttpClient admin)
    {
        var key = PlantedKeys.NewKey();
        var planted = await PlantAsync("someone-" + Guid.NewGuid().ToString("N")[..8], key);
        var id = UserTestData.NewId();
        var created = await admin.CreateUsersAsync([new { user_id = id, allowed_models = new[] { "gpt-4o" }, key }]);
        Assert.Equal(SyncOutcome.Conflict, created.Sync.Single().State);
        return (id, key, planted);
    }

    /// <summary>A key made in LiteLLM's UI or by a script: not mama's, under <paramref name="alias"/> or none.</summary>
    private async Task<string> PlantAsync(string? alias, string key)
    {
        using var proxy = ProxyClient();
        var response = await proxy.PostAsJsonAsync("key/generate", new { key, key_alias = alias, models = new[] { "gpt-4o" }, metadata = new { team = "ops" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return LiteLlmClient.HashKey(key);
    }

    private HttpClient ProxyClient()
    {
        var client = new HttpClient { BaseAddress = app.Emulator.BaseUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MamaApp.MasterKey);
        return client;
    }
}

public sealed class KeyHeldElsewhereTestsOnSqlite(SqliteApp app) : KeyHeldElsewhereTests(app), IClassFixture<SqliteApp>;
public sealed class KeyHeldElsewhereTestsOnPostgres(PostgresApp app) : KeyHeldElsewhereTests(app), IClassFixture<PostgresApp>;
