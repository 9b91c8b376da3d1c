using Mama.ApiClients;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// The real mama process killed while the proxy has minted keys whose answers it never received (the emulator stores
/// each key, then holds its answer); a restarted process must leave exactly one key per user, the one it stores.
/// </summary>
public abstract class KeyMintingCrashTests(string provider) : ProcessCrashTest(provider)
{
    private const int Users = 6;

    [Fact]
    public async Task MamaKilledBetweenTheProxysMintAndItsCommitRecoversWithExactlyOneKeyPerUserThatLookupsReturn()
    {
        Proxy.KeyPolicy.CustomKeysDisabled = true;
        await StartAsync("first");
        using (var first = Instance.CreateClient())
            await MamaApp.ChangePasswordAsync(first, "admin", MamaApp.BootstrapPassword, MamaApp.SuperAdminPassword);
        var lookupToken = await CreateLookupClientAsync(Instance);
        Proxy.KeyPolicy.StallGenerateAfterStore = true;

        var ids = Enumerable.Range(0, Users).Select(_ => UserTestData.NewId("crash")).ToList();
        using (var admin = await Instance.SignInSuperAdminAsync())
            await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id)));
        await MamaApp.EventuallyAsync(() => Task.FromResult(Proxy.KeyPolicy.StalledGenerates == Users), "every user's key is minted and its answer held");
        await using (var db = NewDbContext())
        {
            // The intent was committed before each mint: this is what the restarted process recovers from.
            var rows = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
            Assert.All(rows, u => Assert.NotNull(u.MintRequestedAt));
            Assert.All(rows, u => Assert.NotEqual(Proxy.FindKeyByAlias(u.UserId)!.Token, u.KeyHash));
        }
        var lost = ids.ToDictionary(id => id, id => Proxy.FindKeyByAlias(id)!.Token);

        await KillAsync(); // killed: no shutdown, the answers never arrive
        Proxy.KeyPolicy.StallGenerateAfterStore = false;
        await StartAsync("second");

        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = NewDbContext();
            return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncState == SyncState.Synced && u.MintRequestedAt == null) == Users;
        }, "the restarted mama recovers every user", TimeSpan.FromSeconds(60));

        await using (var db = NewDbContext())
        {
            var rows = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync();
            foreach (var user in rows)
            {
                var key = Assert.Single(Proxy.GetKeys(), k => k.KeyAlias == user.UserId);
                Assert.Equal(user.KeyHash, key.Token);
                Assert.NotEqual(lost[user.UserId], key.Token);
            }
        }
        Assert.Equal(Users, Proxy.GetKeys().Count(k => k.Metadata["managed_by"]?.GetValue<string>() == "mama"));
        using var client = Instance.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", lookupToken);
        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids })).ReadAsync<LookupResponse>();
        Assert.Equal(ids, found.Users.Select(u => u.UserId));
        Assert.All(found.Users, u => Assert.Equal(Proxy.FindKeyByAlias(u.UserId)!.Key, u.Key));
    }

    protected override void Configure(IDictionary<string, string?> environment)
    {
        environment["LiteLlm__SyncLease"] = "00:00:03";
        environment["LiteLlm__DriftCheckInterval"] = "00:00:01";
    }
}

public sealed class KeyMintingCrashTestsOnSqlite() : KeyMintingCrashTests("sqlite");
public sealed class KeyMintingCrashTestsOnPostgres() : KeyMintingCrashTests("postgres");
