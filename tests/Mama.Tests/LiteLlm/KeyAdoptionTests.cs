using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mama.ApiClients;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>Keys already on the proxy under a user's alias: the same value is adopted, another value is a conflict an admin resolves.</summary>
public abstract class KeyAdoptionTests(MamaApp app)
{
    [Fact]
    public async Task APlantedKeyWithTheSameValueIsAdoptedWithoutAGenerateCall()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var key = PlantedKeys.NewKey();
        await app.PlantAsync(id, key, ["gpt-4o"]);

        var created = await admin.CreateUsersAsync([new { user_id = id, organization = "acme", allowed_models = new[] { "gpt-4o", "gpt-4o-mini" }, key }]);

        Assert.Equal(SyncOutcome.Synced, created.Sync.Single().State);
        var onProxy = app.LiteLlm.FindKeyByAlias(id)!;
        Assert.Equal(key, onProxy.Key);
        Assert.Equal(["gpt-4o", "gpt-4o-mini"], onProxy.Models.Order());
        Assert.Equal("mama", (string?)onProxy.Metadata["managed_by"]);
        // The plant is the one generate this key ever saw (the emulator's duplicate mode answers a second one with 200 and counts it).
        Assert.Equal(1, app.LiteLlm.Calls.Snapshot().Single(c => c.Token == LiteLlmClient.HashKey(key)).Generated);
        var (client, _) = await app.NewLookupClientAsync(admin);
        var found = await (await client.GetAsync($"/api/v1/keys/{id}")).ReadAsync<LookedUpUser>();
        Assert.Equal((key, "synced", true), (found.Key, found.SyncState, found.Usable));
    }

    [Fact]
    public async Task APlantedKeyWithAnotherValueIsAConflictThatChangesNothingOnTheProxyAndIsNotHandedOut()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var planted = PlantedKeys.NewKey();
        await app.PlantAsync(id, planted);
        var before = app.LiteLlm.FindKeyByAlias(id)!.Row.ToJsonString();

        var created = await admin.CreateUsersAsync([UserTestData.Row(id)]);

        Assert.Equal(SyncOutcome.Conflict, created.Sync.Single().State);
        var user = created.Users.Single();
        Assert.Equal("conflict", user.SyncState);
        Assert.Contains("the proxy holds another key under this alias", user.SyncError, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, app.LiteLlm.FindKeyByAlias(id)!.Row.ToJsonString());

        var (client, name) = await app.NewLookupClientAsync(admin);
        var found = await (await client.GetAsync($"/api/v1/keys/{id}")).ReadAsync<LookedUpUser>();
        Assert.Equal(("conflict", false), (found.SyncState, found.Usable));
        var legacyMany = await (await client.PostAsJsonAsync("/key/info", new { user_ids = new[] { id } })).ReadAsync<List<JsonElement>>();
        Assert.Empty(legacyMany);
        await (await client.GetAsync($"/key/{id}")).AssertLegacyErrorAsync(HttpStatusCode.NotFound);
        await using (var db = app.NewDbContext())
        {
            var lookups = await db.AuditEvents.Where(e => e.Actor == "api:" + name && e.Action == "key.lookup").OrderBy(e => e.Id).ToListAsync();
            Assert.Equal(3, lookups.Count);
            Assert.DoesNotContain("not_live", lookups[0].Detail);
            Assert.All(lookups.Skip(1), e => Assert.Equal(id, Assert.Single(JsonDocument.Parse(e.Detail).RootElement.GetProperty("not_live").EnumerateArray()).GetString()));
        }

        // Neither the reconciler nor the drift check touches it.
        var mine = await KeyHashAsync(id);
        var callsBefore = CallsOn(mine);
        await app.Service<KeyReconciler>().RetryDueAsync(CancellationToken.None);
        await app.Service<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, CancellationToken.None);
        Assert.Equal(callsBefore, CallsOn(mine));
        Assert.Equal(before, app.LiteLlm.FindKeyByAlias(id)!.Row.ToJsonString());
        await using (var db = app.NewDbContext())
            Assert.Equal(SyncState.Conflict, (await db.KeyUsers.SingleAsync(u => u.UserId == id)).SyncState);
    }

    [Fact]
    public async Task ReplacingDeletesTheProxysKeyAndLeavesMamasKeyAloneUnderTheAlias()
    {
        using var admin = await app.SuperAdminAsync();
        var id = await ConflictedUserAsync(admin, PlantedKeys.NewKey());

        var resolved = await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "replace" })).ReadAsync<ResolveConflictResponse>();

        Assert.Equal((SyncOutcome.Synced, "synced"), (resolved.Sync.State, resolved.User.SyncState));
        var (client, _) = await app.NewLookupClientAsync(admin);
        var found = await (await client.GetAsync($"/api/v1/keys/{id}")).ReadAsync<LookedUpUser>();
        Assert.True(found.Usable);
        Assert.Equal(found.Key, app.LiteLlm.GetKeys().Single(k => k.KeyAlias == id).Key);
        Assert.Equal(found.Key, (await (await client.GetAsync($"/key/{id}")).ReadAsync<Dictionary<string, string>>())["key"]);
        await AssertAuditedAsync(id, "replace", found.Key);
    }

    [Fact]
    public async Task ImportingTakesTheProxysKeyOnlyWhenItsValueMatches()
    {
        using var admin = await app.SuperAdminAsync();
        var planted = PlantedKeys.NewKey();
        var id = await ConflictedUserAsync(admin, planted);
        var wrong = PlantedKeys.NewKey();

        var refused = await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "import", key = wrong })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("not the key the proxy holds", refused.GetRawText());
        Assert.DoesNotContain(wrong, refused.GetRawText());
        await using (var db = app.NewDbContext())
            Assert.Equal(SyncState.Conflict, (await db.KeyUsers.SingleAsync(u => u.UserId == id)).SyncState);

        var resolved = await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "import", key = planted })).ReadAsync<ResolveConflictResponse>();

        Assert.Equal((SyncOutcome.Synced, "synced"), (resolved.Sync.State, resolved.User.SyncState));
        var onProxy = app.LiteLlm.GetKeys().Single(k => k.KeyAlias == id);
        Assert.Equal((planted, "mama"), (onProxy.Key, (string?)onProxy.Metadata["managed_by"]));
        var (client, _) = await app.NewLookupClientAsync(admin);
        var found = await (await client.GetAsync($"/api/v1/keys/{id}")).ReadAsync<LookedUpUser>();
        Assert.Equal((planted, true), (found.Key, found.Usable));
        await AssertAuditedAsync(id, "import", planted);
    }

    [Fact]
    public async Task OnlyAUserInConflictCanBeResolvedAndTheActionMustBeKnown()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];

        await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "replace" })).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "merge" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "import", key = "sk-short" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.PostJsonAsync("/api/v1/users/nobody-here/resolve", new { action = "replace" })).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    private async Task<string> ConflictedUserAsync(HttpClient admin, string planted)
    {
        var id = UserTestData.NewId();
        await app.PlantAsync(id, planted);
        var created = await admin.CreateUsersAsync([UserTestData.Row(id)]);
        Assert.Equal(SyncOutcome.Conflict, created.Sync.Single().State);
        return id;
    }

    private async Task AssertAuditedAsync(string id, string action, string key)
    {
        await using var db = app.NewDbContext();
        var events = await db.AuditEvents.Where(e => e.Action == "user.resolve" && e.UserIds.Contains(" " + id + " ")).ToListAsync();
        var resolve = Assert.Single(events, e => e.Result == Mama.Audit.AuditResult.Success);
        Assert.Equal(action, JsonDocument.Parse(resolve.Detail).RootElement.GetProperty("action").GetString());
        Assert.All(events, e => Assert.DoesNotContain(key, e.Detail + e.Reason));
        Assert.Equal(1, app.LiteLlm.GetKeys().Count(k => k.KeyAlias == id));
    }

    private async Task<string> KeyHashAsync(string id)
    {
        await using var db = app.NewDbContext();
        return (await db.KeyUsers.SingleAsync(u => u.UserId == id)).KeyHash;
    }

    private int CallsOn(string token) => app.LiteLlm.Calls.Snapshot().SingleOrDefault(c => c.Token == token)?.Calls ?? 0;
}

public sealed class KeyAdoptionTestsOnSqlite(SqliteApp app) : KeyAdoptionTests(app), IClassFixture<SqliteApp>;
public sealed class KeyAdoptionTestsOnPostgres(PostgresApp app) : KeyAdoptionTests(app), IClassFixture<PostgresApp>;
