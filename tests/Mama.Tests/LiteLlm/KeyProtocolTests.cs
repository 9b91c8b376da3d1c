using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>How mama talks to today's proxies: keys named by hash, metadata merged, failures classified, key owner and type.</summary>
public abstract class KeyProtocolTests(MamaApp app) : IAsyncLifetime
{
    private bool _restarted;

    public ValueTask InitializeAsync()
    {
        app.LiteLlm.NoDb = false;
        app.LiteLlm.SetRefusal("/key/generate", null);
        app.LiteLlm.SetRefusal("/key/update", null);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await InitializeAsync();
        if (_restarted) await app.RestartAsync();
    }

    [Fact]
    public async Task NoUrlTheProxyReceivesHoldsAPlaintextKeyThroughCreateEditBlockDriftRepairAndDelete()
    {
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.Requests.Clear();
        var ids = await admin.CreateUsersAsync(3, models: ["gpt-4o"]);
        var keys = new List<string>();
        foreach (var id in ids) keys.Add((await SyncedKeyAsync(id)).Key!);

        await admin.EditAsync(ids, models: new { mode = "add", values = new[] { "gpt-4o-mini" } });
        await admin.EditAsync([ids[0]], models: new { mode = "replace", values = Array.Empty<string>() });
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(ids[0])!.Blocked), "the emptied user's key is blocked");
        using var proxy = ProxyClient();
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/delete", new { keys = new[] { LiteLlmClient.HashKey(keys[1]) } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/update", new { key = LiteLlmClient.HashKey(keys[2]), models = new[] { "sneaky" } })).StatusCode);
        await app.Service<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, CancellationToken.None);
        Assert.Equal(keys[1], app.LiteLlm.FindKeyByAlias(ids[1])!.Key);
        Assert.Equal(["gpt-4o", "gpt-4o-mini"], app.LiteLlm.FindKeyByAlias(ids[2])!.Models.Order());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = ids })).StatusCode);
        await MamaApp.EventuallyAsync(async () => ids.All(id => app.LiteLlm.FindKeyByAlias(id) is null) && await RowsAsync(ids) == 0, "every deletion reached the proxy");

        var urls = app.LiteLlm.Requests.Snapshot().Select(r => r.Url).ToList();
        Assert.All(keys, key => Assert.DoesNotContain(urls, url => url.Contains(key, StringComparison.Ordinal)));
        Assert.DoesNotContain(urls, url => url.Contains("sk-", StringComparison.Ordinal));
        Assert.All(keys, key => Assert.Contains("/key/info?key=" + LiteLlmClient.HashKey(key), urls)); // named by hash, not left unnamed
    }

    [Fact]
    public async Task MetadataSetOnTheProxySurvivesAMamaEditAndADriftRepair()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, models: ["gpt-4o"]))[0];
        var hash = (await SyncedKeyAsync(id)).Token;
        using var proxy = ProxyClient();
        var operatorsEdit = app.LiteLlm.FindKeyByAlias(id)!.Metadata;
        operatorsEdit["tags"] = new JsonArray("team-a");
        operatorsEdit["note"] = "set in LiteLLM's UI";
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/update", new JsonObject { ["key"] = hash, ["metadata"] = operatorsEdit })).StatusCode);

        await admin.EditAsync([id], models: new { mode = "add", values = new[] { "gpt-4o-mini" } });

        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(id)!.Models.Count == 2), "the edit reached the proxy");
        AssertOperatorsFieldsAndMamasFields(id);

        // A UI edit that replaced the metadata without mama's fields, and changed the models: both are drift.
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/update", new
        {
            key = hash,
            models = new[] { "sneaky" },
            metadata = new { tags = new[] { "team-a" }, note = "set in LiteLLM's UI" },
        })).StatusCode);
        await app.Service<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, CancellationToken.None);

        Assert.Equal(["gpt-4o", "gpt-4o-mini"], app.LiteLlm.FindKeyByAlias(id)!.Models.Order());
        AssertOperatorsFieldsAndMamasFields(id);
    }

    [Fact]
    public async Task AProxyWithoutItsDatabaseLeavesUsersPendingAndTheyConvergeOnceItIsBack()
    {
        using var admin = await app.SuperAdminAsync();
        (await admin.GetAsync("/api/v1/models")).EnsureSuccessStatusCode();
        app.LiteLlm.NoDb = true;
        var ids = Enumerable.Range(0, 3).Select(_ => UserTestData.NewId()).ToList();

        var created = await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id)));

        Assert.All(created.Sync, s => Assert.Equal("pending", s.State));
        await MamaApp.EventuallyAsync(async () => (await UsersAsync(ids)).Any(u => u.SyncError?.Contains("temporarily unreachable") == true),
            "LiteLLM's reason is recorded");
        Assert.All(await UsersAsync(ids), u => Assert.Equal(SyncState.Pending, u.SyncState));
        Assert.All(ids, id => Assert.Null(app.LiteLlm.FindKeyByAlias(id)));

        app.LiteLlm.NoDb = false;

        await MamaApp.EventuallyAsync(async () => (await UsersAsync(ids)).All(u => u.SyncState == SyncState.Synced), "the users converge", TimeSpan.FromSeconds(60));
        Assert.All(await UsersAsync(ids), u => Assert.Equal(u.KeyHash, app.LiteLlm.FindKeyByAlias(u.UserId)!.Token));
    }

    [Fact]
    public async Task TooManyRequestsLeaveUsersPendingAndTheyConvergeOnceTheProxyAcceptsAgain()
    {
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.SetRefusal("/key/generate", 429, "Rate limit reached for {key}, retry later");
        var ids = await admin.CreateUsersAsync(2);

        await MamaApp.EventuallyAsync(async () => (await UsersAsync(ids)).All(u => u.SyncError?.Contains("Rate limit reached") == true), "the 429 is recorded");
        Assert.All(await UsersAsync(ids), u => Assert.Equal(SyncState.Pending, u.SyncState));

        app.LiteLlm.SetRefusal("/key/generate", null);

        await MamaApp.EventuallyAsync(async () => (await UsersAsync(ids)).All(u => u.SyncState == SyncState.Synced), "the users converge", TimeSpan.FromSeconds(60));
    }

    [Theory]
    [InlineData("/key/generate", 400)]
    [InlineData("/key/generate", 422)]
    [InlineData("/key/update", 403)]
    public async Task ARefusalIsAnErrorShowingLiteLlmsReasonWithTheKeyRedacted(string route, int status)
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        if (route == "/key/update")
        {
            await admin.CreateUsersAsync([UserTestData.Row(id)]);
            await SyncedKeyAsync(id);
        }
        app.LiteLlm.SetRefusal(route, status, "Blocked by the upper-bound policy for {key}");

        if (route == "/key/update") await admin.EditAsync([id], models: new { mode = "add", values = new[] { "gpt-4o-mini" } });
        else await admin.CreateUsersAsync([UserTestData.Row(id)]);

        await MamaApp.EventuallyAsync(async () => (await UsersAsync([id])).Single().SyncState == SyncState.Error, "the refusal is an error");
        var user = (await UsersAsync([id])).Single();
        var shown = await (await admin.GetAsync("/api/v1/users/" + id)).ReadAsync<JsonObject>();
        var error = (string?)shown["sync_error"];
        Assert.Equal("error", (string?)shown["sync_state"]);
        Assert.Contains("Blocked by the upper-bound policy", error);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), error);
        Assert.DoesNotContain((string)shown["key"]!, error);
        Assert.DoesNotContain(user.KeyHash, error);
    }

    [Fact]
    public async Task ARefusalEchoingAnExistingBase64StyleKeyNeverShowsThatKey()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var key = "sk-Ab+cd/ef=" + Guid.NewGuid().ToString("N");
        app.LiteLlm.SetRefusal("/key/generate", 400, "Key {key} refused by the custom_key_policy hook");

        var created = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { new { user_id = id, allowed_models = new[] { "gpt-4o" }, key } } });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await MamaApp.EventuallyAsync(async () => (await UsersAsync([id])).Single().SyncState == SyncState.Error, "the refusal is an error");
        var error = (await UsersAsync([id])).Single().SyncError!;
        Assert.Contains("refused by the custom_key_policy hook", error);
        Assert.DoesNotContain(key, error);
        Assert.DoesNotContain(key[3..12], error);
    }

    [Fact]
    public async Task AnAdoptedKeyKeepsItsLiteLlmOwnerSoItsBudgetAndLimitsStay()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var key = "sk-owned-" + Guid.NewGuid().ToString("N");
        using (var proxy = new HttpClient { BaseAddress = app.Emulator.BaseUrl })
        {
            proxy.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MamaApp.MasterKey);
            var planted = await proxy.PostAsJsonAsync("/key/generate", new { key, key_alias = id, user_id = "team-x", models = new[] { "gpt-4o" } });
            Assert.Equal(HttpStatusCode.OK, planted.StatusCode);
        }

        await admin.PostJsonAsync("/api/v1/users", new { users = new[] { new { user_id = id, allowed_models = new[] { "gpt-4o", "gpt-4o-mini" }, key } } });

        await MamaApp.EventuallyAsync(async () => (await UsersAsync([id])).Single().SyncState == SyncState.Synced, "the key is adopted");
        var row = app.LiteLlm.FindKeyByAlias(id)!;
        Assert.Equal(["gpt-4o", "gpt-4o-mini"], row.Models.Order());
        Assert.Equal("team-x", row.UserId);
    }

    [Fact]
    public async Task ByDefaultAKeyIsOwnedByItsMamaUserAndHasNoKeyType()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];

        var row = await SyncedKeyAsync(id);

        Assert.Equal((id, null), (row.UserId, row.KeyType));
        Assert.Empty(row.Row["allowed_routes"]!.AsArray());
    }

    [Fact]
    public async Task AFixedKeyOwnerAndKeyTypeLlmApiLandOnTheProxysRowAndSurviveAnEdit()
    {
        await RestartWithAsync(("LiteLlm:KeyOwner", "svc-mama"), ("LiteLlm:KeyType", "llm_api"));
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];

        var row = await SyncedKeyAsync(id);
        await admin.EditAsync([id], models: new { mode = "add", values = new[] { "gpt-4o-mini" } });

        Assert.Equal(("svc-mama", "llm_api"), (row.UserId, row.KeyType));
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(id)!.Models.Count == 2), "the edit reached the proxy");
        var edited = app.LiteLlm.FindKeyByAlias(id)!;
        Assert.Equal(("svc-mama", "llm_api"), (edited.UserId, edited.KeyType));
    }

    [Fact]
    public async Task KeyOwnerNoneSendsNoOwner()
    {
        await RestartWithAsync(("LiteLlm:KeyOwner", "none"));
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];

        var row = await SyncedKeyAsync(id);

        Assert.Null(row.UserId);
        Assert.Null(row.KeyType);
    }

    private void AssertOperatorsFieldsAndMamasFields(string id)
    {
        var metadata = app.LiteLlm.FindKeyByAlias(id)!.Metadata;
        Assert.Equal(["team-a"], metadata["tags"]!.AsArray().Select(t => (string)t!));
        Assert.Equal("set in LiteLLM's UI", (string?)metadata["note"]);
        Assert.Equal(("mama", "acme"), ((string?)metadata["managed_by"], (string?)metadata["organization"]));
    }

    private async Task RestartWithAsync(params (string Name, string Value)[] settings)
    {
        _restarted = true;
        await app.RestartAsync(settings.ToDictionary(s => s.Name, s => (string?)s.Value));
    }

    /// <summary>The user's key on the proxy once its sync has finished.</summary>
    private async Task<Mama.LiteLlmEmulator.EmulatedKey> SyncedKeyAsync(string id)
    {
        await MamaApp.EventuallyAsync(async () => (await UsersAsync([id])).Single().SyncState == SyncState.Synced, $"{id} is synced");
        return app.LiteLlm.FindKeyByAlias(id)!;
    }

    private async Task<List<User>> UsersAsync(IReadOnlyCollection<string> ids)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
    }

    private async Task<int> RowsAsync(IReadOnlyCollection<string> ids)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId));
    }

    private HttpClient ProxyClient()
    {
        var client = new HttpClient { BaseAddress = app.Emulator.BaseUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MamaApp.MasterKey);
        return client;
    }
}

public sealed class KeyProtocolTestsOnSqlite(SqliteApp app) : KeyProtocolTests(app), IClassFixture<SqliteApp>;
public sealed class KeyProtocolTestsOnPostgres(PostgresApp app) : KeyProtocolTests(app), IClassFixture<PostgresApp>;
