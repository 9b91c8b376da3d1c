using System.Net;
using System.Net.Http.Headers;
using Mama.ApiClients;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>A proxy that refuses key values chosen by mama: the proxy mints every key, and mama stores and hands out what it minted.</summary>
public abstract class KeyMintingTests(MamaApp app)
{
    [Fact]
    public async Task UsersOfAProxyThatRefusesCustomKeysGetTheKeysTheProxyMintedAndTheyWork()
    {
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = true;
        using var admin = await app.SuperAdminAsync();

        var ids = await admin.CreateUsersAsync(12);

        await WaitUntilSyncedAsync(ids);
        using var client = await KeyMintingHelpers.NewLookupClientAsync(app, admin);
        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids })).ReadAsync<LookupResponse>();
        Assert.Equal(ids, found.Users.Select(u => u.UserId));
        using var proxy = new HttpClient { BaseAddress = app.Emulator.BaseUrl };
        foreach (var user in found.Users)
        {
            var onProxy = Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == user.UserId);
            Assert.Equal(onProxy.Key, user.Key);
            Assert.Equal(onProxy.Key, (await (await client.GetAsync($"/api/v1/keys/{user.UserId}")).ReadAsync<LookedUpUser>()).Key);
            using var call = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", user.Key) } };
            Assert.Equal(HttpStatusCode.OK, (await proxy.SendAsync(call)).StatusCode);
        }
        await using var db = app.NewDbContext();
        var rows = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
        Assert.All(rows, u => Assert.Null(u.MintRequestedAt));
        Assert.All(rows, u => Assert.Equal(app.LiteLlm.FindKeyByAlias(u.UserId)!.Token, u.KeyHash));
        Assert.All(rows, u => Assert.Equal(app.LiteLlm.FindKeyByAlias(u.UserId)!.Key![^4..], u.KeyLastFour));
        Assert.Equal(ProxyState.Refused, (await db.ProxyState.SingleAsync()).CustomKeys);
    }

    [Fact]
    public async Task EditsAndDeletesReachTheKeysTheProxyMinted()
    {
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = true;
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3);
        await WaitUntilSyncedAsync(ids);
        var minted = ids.ToDictionary(id => id, id => app.LiteLlm.FindKeyByAlias(id)!.Token);

        await admin.EditAsync(ids, models: new { mode = "add", values = new[] { "claude-sonnet-4" } });
        await WaitUntilSyncedAsync(ids);

        foreach (var id in ids)
        {
            var key = Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == id);
            Assert.Equal(minted[id], key.Token);
            Assert.Equal(["claude-sonnet-4", "gpt-4o"], key.Models.Order());
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = ids.Take(2) })).StatusCode);
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return !await db.KeyUsers.AnyAsync(u => ids.Take(2).Contains(u.UserId));
        }, "the deleted users' rows are gone once their keys are");
        Assert.DoesNotContain(app.LiteLlm.GetKeys(), k => k.KeyAlias == ids[0] || k.KeyAlias == ids[1]);
        Assert.Equal(minted[ids[2]], app.LiteLlm.FindKeyByAlias(ids[2])!.Token);
    }

    [Fact]
    public async Task AnEditMadeWhileTheProxyIsMintingTheKeyIsPushedOnTheMintedKey()
    {
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = true;
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(1); // learns the mode, if no earlier test did
        await WaitUntilSyncedAsync(ids);
        app.LiteLlm.KeyPolicy.StallGenerateAfterStore = true;
        try
        {
            var id = (await admin.CreateUsersAsync(1))[0];
            await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.KeyPolicy.StalledGenerates == 1), "the key is minted and its answer held");

            var edited = await admin.EditAsync([id], models: new { mode = "add", values = new[] { "claude-sonnet-4" } });
            Assert.Equal(id, Assert.Single(edited.Changed).UserId);
            app.LiteLlm.KeyPolicy.StallGenerateAfterStore = false;

            await WaitUntilSyncedAsync([id]);
            var key = Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == id);
            Assert.Equal(["claude-sonnet-4", "gpt-4o"], key.Models.Order());
            await using var db = app.NewDbContext();
            var user = await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id);
            Assert.Equal(key.Token, user.KeyHash);
            Assert.Equal(["claude-sonnet-4", "gpt-4o"], user.Models);
            Assert.Null(user.MintRequestedAt);
        }
        finally
        {
            app.LiteLlm.KeyPolicy.StallGenerateAfterStore = false;
        }
    }

    private Task WaitUntilSyncedAsync(IReadOnlyList<string> ids) => KeyMintingHelpers.WaitUntilSyncedAsync(app, ids);
}

public sealed class KeyMintingTestsOnSqlite(SqliteApp app) : KeyMintingTests(app), IClassFixture<SqliteApp>;
public sealed class KeyMintingTestsOnPostgres(PostgresApp app) : KeyMintingTests(app), IClassFixture<PostgresApp>;

internal static class KeyMintingHelpers
{
    public static async Task WaitUntilSyncedAsync(MamaApp app, IReadOnlyList<string> ids) =>
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncState == SyncState.Synced) == ids.Count;
        }, "every user is synced");

    public static async Task<HttpClient> NewLookupClientAsync(MamaApp app, HttpClient admin)
    {
        var name = "client-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing", scope = "all" })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        return client;
    }
}
