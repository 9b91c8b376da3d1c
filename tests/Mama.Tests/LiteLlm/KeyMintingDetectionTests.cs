using System.Net;
using System.Net.Http.Headers;
using Mama.ApiClients;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>How mama learns that the proxy refuses its key values; each test starts from a proxy mama knows nothing about.</summary>
public abstract class KeyMintingDetectionTests(MamaApp app)
{
    [Theory]
    [InlineData("disabled")]
    [InlineData("too-short")]
    public async Task TheFirstRefusalSwitchesToMintedKeysAndIsRememberedSoTheNextBatchMintsDirectly(string refusal)
    {
        await ForgetTheProxyModeAsync();
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = refusal == "disabled";
        app.LiteLlm.KeyPolicy.MinimumCustomKeyLength = refusal == "too-short" ? 64 : 16; // mama's own keys have 46 characters
        var refusedBefore = app.LiteLlm.KeyPolicy.RefusedCustomKeys;
        using var admin = await app.SuperAdminAsync();

        var first = await admin.CreateUsersAsync(4);
        await KeyMintingHelpers.WaitUntilSyncedAsync(app, first);

        var refusedByFirst = app.LiteLlm.KeyPolicy.RefusedCustomKeys - refusedBefore;
        Assert.InRange(refusedByFirst, 1, first.Count);
        await using (var db = app.NewDbContext())
        {
            var state = await db.ProxyState.SingleAsync();
            Assert.Equal(ProxyState.Refused, state.CustomKeys);
            Assert.Contains(refusal == "disabled" ? "disable_custom_api_keys" : "at least 64 characters", state.CustomKeysReason);
            Assert.DoesNotContain("sk-", state.CustomKeysReason!.Replace("sk-***", ""));
        }

        var mintedBefore = app.LiteLlm.KeyPolicy.MintedKeys;
        var second = await admin.CreateUsersAsync(6);
        await KeyMintingHelpers.WaitUntilSyncedAsync(app, second);

        Assert.Equal(refusedByFirst, app.LiteLlm.KeyPolicy.RefusedCustomKeys - refusedBefore);
        Assert.Equal(second.Count, app.LiteLlm.KeyPolicy.MintedKeys - mintedBefore);
        Assert.All(first.Concat(second), id => Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == id));
    }

    [Fact]
    public async Task AProxyThatTakesMamasKeyValuesIsRememberedAsAcceptingThem()
    {
        await ForgetTheProxyModeAsync();
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = false;
        app.LiteLlm.KeyPolicy.MinimumCustomKeyLength = 16;
        var mintedBefore = app.LiteLlm.KeyPolicy.MintedKeys;
        using var admin = await app.SuperAdminAsync();

        var ids = await admin.CreateUsersAsync(2);

        await KeyMintingHelpers.WaitUntilSyncedAsync(app, ids);
        await using var db = app.NewDbContext();
        Assert.Equal(ProxyState.Accepted, (await db.ProxyState.SingleAsync()).CustomKeys);
        Assert.Equal(mintedBefore, app.LiteLlm.KeyPolicy.MintedKeys);
        var users = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
        Assert.All(users, u => Assert.Equal(u.KeyHash, app.LiteLlm.FindKeyByAlias(u.UserId)!.Token));
    }

    [Fact]
    public async Task AMintedKeyTheProxyLostIsMintedAgainByTheDriftRepair()
    {
        await ForgetTheProxyModeAsync(new Dictionary<string, string?> { ["LiteLlm:DriftCheckInterval"] = "00:00:00.300" });
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = true;
        app.LiteLlm.KeyPolicy.MinimumCustomKeyLength = 16;
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        await KeyMintingHelpers.WaitUntilSyncedAsync(app, [id]);
        var lost = app.LiteLlm.FindKeyByAlias(id)!.Token;

        using (var proxy = new HttpClient { BaseAddress = app.Emulator.BaseUrl })
        {
            proxy.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MamaApp.MasterKey);
            Assert.Equal(HttpStatusCode.OK, (await proxy.PostJsonAsync("/key/delete", new { keys = new[] { lost } })).StatusCode);
        }

        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            var hash = await db.KeyUsers.Where(u => u.UserId == id).Select(u => u.KeyHash).SingleAsync();
            return hash != lost && app.LiteLlm.FindKeyByAlias(id)?.Token == hash;
        }, "the drift check mints the lost key again and stores it");
        // The repair's audit event is written once the repair has returned, just after the key is stored.
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return (await db.AuditEvents.Where(e => e.Action == "key.repair").Select(e => e.Detail).ToListAsync()).Any(d => d.Contains("recreated"));
        }, "the repair is audited");
    }

    /// <summary>A restarted mama on a database that has forgotten what the proxy does.</summary>
    private async Task ForgetTheProxyModeAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        await using (var db = app.NewDbContext())
            await db.ProxyState.ExecuteUpdateAsync(s => s.SetProperty(r => r.CustomKeys, ProxyState.Unknown).SetProperty(r => r.CustomKeysReason, (string?)null));
        await app.RestartAsync(overrides);
    }
}

public sealed class KeyMintingDetectionTestsOnSqlite(SqliteApp app) : KeyMintingDetectionTests(app), IClassFixture<SqliteApp>;
public sealed class KeyMintingDetectionTestsOnPostgres(PostgresApp app) : KeyMintingDetectionTests(app), IClassFixture<PostgresApp>;
