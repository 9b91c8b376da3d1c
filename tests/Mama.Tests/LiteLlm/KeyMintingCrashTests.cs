using System.Net;
using Mama.ApiClients;
using Mama.Data;
using Mama.LiteLlmEmulator;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// The real mama process killed while the proxy has minted keys whose answers it never received (the emulator stores
/// each key, then holds its answer); a restarted process must leave exactly one key per user, the one it stores.
/// </summary>
public abstract class KeyMintingCrashTests(string provider) : IAsyncLifetime
{
    private const int Users = 6;

    private RunningEmulator? _emulator;
    private TestDatabase? _database;
    private MamaProcess? _mama;

    private EmulatorControl Proxy => _emulator!.Control;

    public async ValueTask InitializeAsync()
    {
        _emulator = await LiteLlmEmulatorHost.StartAsync(new EmulatorOptions { Port = 0, MasterKey = MamaApp.MasterKey }, CancellationToken.None);
        _database = await TestDatabase.CreateAsync(provider);
    }

    [Fact]
    public async Task MamaKilledBetweenTheProxysMintAndItsCommitRecoversWithExactlyOneKeyPerUserThatLookupsReturn()
    {
        Proxy.KeyPolicy.CustomKeysDisabled = true;
        _mama = await StartAsync("first");
        using (var first = _mama.CreateClient())
            await MamaApp.ChangePasswordAsync(first, "admin", MamaApp.BootstrapPassword, MamaApp.SuperAdminPassword);
        var lookupToken = await CreateLookupClientAsync(_mama);
        Proxy.KeyPolicy.StallGenerateAfterStore = true;

        var ids = Enumerable.Range(0, Users).Select(_ => UserTestData.NewId("crash")).ToList();
        using (var admin = await _mama.SignInSuperAdminAsync())
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

        await _mama.DisposeAsync(); // killed: no shutdown, the answers never arrive
        Proxy.KeyPolicy.StallGenerateAfterStore = false;
        _mama = await StartAsync("second");

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
        using var client = _mama.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", lookupToken);
        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids })).ReadAsync<LookupResponse>();
        Assert.Equal(ids, found.Users.Select(u => u.UserId));
        Assert.All(found.Users, u => Assert.Equal(Proxy.FindKeyByAlias(u.UserId)!.Key, u.Key));
    }

    private async Task<MamaProcess> StartAsync(string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_database!.Folder, name)).FullName;
        var environment = MamaProcess.SyncingEnvironment(provider, _database.ConnectionString, _emulator!.BaseUrl);
        // Longer than the test: the held answers are never given up on before the process is killed.
        environment["LiteLlm__Timeout"] = "00:02:00";
        environment["LiteLlm__SyncLease"] = "00:00:03";
        environment["LiteLlm__DriftCheckInterval"] = "00:00:01";
        return await MamaProcess.StartAsync(folder, environment);
    }


    private static async Task<string> CreateLookupClientAsync(MamaProcess mama)
    {
        using var admin = await mama.SignInSuperAdminAsync();
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = "lookups", service = "billing", scope = "all" }))
            .ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        return created.Token;
    }

    private MamaDbContext NewDbContext() => provider == "sqlite"
        ? new SqliteMamaDbContext(new DbContextOptionsBuilder<SqliteMamaDbContext>().UseSqlite(_database!.ConnectionString).Options)
        : new PostgresMamaDbContext(new DbContextOptionsBuilder<PostgresMamaDbContext>().UseNpgsql(_database!.ConnectionString).Options);

    public async ValueTask DisposeAsync()
    {
        if (_mama is not null) await _mama.DisposeAsync();
        if (_database is not null) await _database.DisposeAsync();
        if (_emulator is not null) await _emulator.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

public sealed class KeyMintingCrashTestsOnSqlite() : KeyMintingCrashTests("sqlite");
public sealed class KeyMintingCrashTestsOnPostgres() : KeyMintingCrashTests("postgres");
