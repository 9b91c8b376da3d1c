using System.Net;
using System.Net.Http.Json;
using Mama.LiteLlmEmulator;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// Three real mama processes on one PostgreSQL database (SQLite is single-instance by design), a proxy that answers
/// in 2 s, overlapping edits from all three, and one process killed while its pushes are in flight.
/// </summary>
public sealed class MultiHostSyncTests : IAsyncLifetime
{
    private const int UsersPerHost = 20;
    private static readonly TimeSpan Latency = TimeSpan.FromSeconds(2);

    private readonly List<MamaProcess> _hosts = [];
    private RunningEmulator? _emulator;
    private TestDatabase? _database;

    private RunningEmulator Emulator => _emulator!;

    public async ValueTask InitializeAsync()
    {
        _emulator = await LiteLlmEmulatorHost.StartAsync(new EmulatorOptions { Port = 0, MasterKey = MamaApp.MasterKey }, CancellationToken.None);
        _database = await TestDatabase.CreateAsync("postgres");
    }

    [Fact]
    public async Task ThreeHostsEditingOverlappingUsersWithOneKilledMidSyncLeaveEveryKeyAsTheDatabaseSaysPushedByOneWorkerAtATime()
    {
        // All three start at the same moment on the empty database: one migrates and seeds the admin, the others wait.
        _hosts.AddRange(await Task.WhenAll(StartHostAsync("a"), StartHostAsync("b"), StartHostAsync("c")));
        using (var first = _hosts[0].CreateClient())
            await MamaApp.ChangePasswordAsync(first, "admin", MamaApp.BootstrapPassword, MamaApp.SuperAdminPassword);
        var admins = await Task.WhenAll(_hosts.Select(h => h.SignInSuperAdminAsync()));
        Emulator.Control.SetLatency(Latency);

        var ids = Enumerable.Range(0, UsersPerHost * 3).Select(_ => UserTestData.NewId("mh")).ToList();
        await Task.WhenAll(admins.Select((admin, i) => CreateAsync(admin, ids.Skip(i * UsersPerHost).Take(UsersPerHost))));
        // Overlapping edits, one per host, while the creates are still being pushed; the second host is killed
        // (Process.Kill: no shutdown, its leases simply stop being renewed) while its own pushes are in flight.
        var killed = _hosts[1];
        var edits = Task.WhenAll(
            EditAsync(admins[0], ids[..40], new { allowed_models = new { mode = "add", values = new[] { "model-a" } } }),
            EditAsync(admins[1], ids[20..], new { allowed_models = new { mode = "add", values = new[] { "model-b" } } }, mayBeKilled: true),
            EditAsync(admins[2], ids[10..50], new { organization = "org-c" }));
        List<string> leasedByKilled = [];
        await MamaApp.EventuallyAsync(async () => (leasedByKilled = await LeasedByAsync(killed.ProcessId)).Count > 0, "the second host holds leases while its pushes are in flight");
        await killed.DisposeAsync();
        var sinceKill = System.Diagnostics.Stopwatch.StartNew();
        _hosts.Remove(killed);
        await edits;

        await MamaApp.EventuallyAsync(() => TakenOverAsync(leasedByKilled, killed.ProcessId), "the killed host's users are taken over by the others within 30 s",
            TimeSpan.FromSeconds(30) - sinceKill.Elapsed);

        // More overlapping edits on the survivors, then everything converges with the proxy still slow.
        await Task.WhenAll(
            EditAsync(admins[0], ids[5..35], new { allowed_models = new { mode = "remove", values = new[] { "model-b" } } }),
            EditAsync(admins[2], ids[25..55], new { allowed_models = new { mode = "add", values = new[] { "model-c" } } }));
        await MamaApp.EventuallyAsync(async () => await CountAsync(u => u.SyncState == SyncState.Synced) == ids.Count,
            "every user synced", TimeSpan.FromSeconds(90));

        await using var db = NewDbContext();
        Assert.Equal(0, await db.KeyUsers.CountAsync(u => u.SyncState == SyncState.Error));
        var users = await db.KeyUsers.AsNoTracking().ToListAsync();
        var keys = Emulator.Control.GetKeys().Where(k => k.Metadata["managed_by"]?.GetValue<string>() == "mama").ToList();
        Assert.Equal(users.Count, keys.Count);
        foreach (var user in users)
        {
            var key = Assert.Single(keys, k => k.KeyAlias == user.UserId);
            Assert.Equal(user.KeyHash, key.Token);
            Assert.Equal(user.Models.Order(), key.Models.Order());
            Assert.Equal(user.Organization, key.Metadata["organization"]?.GetValue<string>());
        }
        var calls = Emulator.Control.Calls.Snapshot().Where(c => users.Any(u => u.KeyHash == c.Token)).ToList();
        Assert.Equal(users.Count, calls.Count);
        Assert.All(calls, c => Assert.True(c.Generated == 1, $"{c.KeyAlias} was generated {c.Generated} times"));
        Assert.All(calls, c => Assert.True(c.MaxInFlight == 1, $"{c.KeyAlias} had {c.MaxInFlight} requests in flight at once"));
        // A drift check ran throughout: a synced user whose key differed from the database would have been repaired.
        Assert.Equal(0, await db.AuditEvents.CountAsync(e => e.Action == "key.repair"));
    }

    private async Task<MamaProcess> StartHostAsync(string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_database!.Folder, name)).FullName;
        var environment = MamaProcess.SyncingEnvironment("postgres", _database.ConnectionString, Emulator.BaseUrl);
        return await MamaProcess.StartAsync(folder, environment);
    }


    private static async Task CreateAsync(HttpClient admin, IEnumerable<string> ids) =>
        await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id, "org-" + id[^4..], ["gpt-4o"])), allowUnknownModels: true);

    /// <summary>An edit, tried again when a concurrent edit of the same users won (409), as a client would.</summary>
    private static async Task EditAsync(HttpClient admin, IReadOnlyList<string> ids, object change, bool mayBeKilled = false)
    {
        var body = System.Text.Json.JsonSerializer.SerializeToNode(change, Mama.Http.MamaJson.Options)!.AsObject();
        body["user_ids"] = System.Text.Json.JsonSerializer.SerializeToNode(ids);
        body["allow_unknown_models"] = true;
        for (var attempt = 1; ; attempt++)
        {
            HttpStatusCode status;
            try
            {
                using var response = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users") { Content = JsonContent.Create(body) });
                status = response.StatusCode;
            }
            catch (HttpRequestException) when (mayBeKilled)
            {
                return; // the host died under the request: the edit committed or not, the database says which
            }
            if (status != HttpStatusCode.Conflict || attempt == 20)
            {
                Assert.Equal(HttpStatusCode.OK, status);
                return;
            }
        }
    }

    private async Task<List<string>> LeasedByAsync(int processId)
    {
        await using var db = NewDbContext();
        var prefix = processId + ":";
        return await db.KeyUsers.Where(u => u.SyncLeaseOwner != null && u.SyncLeaseOwner.StartsWith(prefix)).Select(u => u.UserId).ToListAsync();
    }

    /// <summary>Each of the users is synced or being pushed by a live host.</summary>
    private async Task<bool> TakenOverAsync(IReadOnlyCollection<string> ids, int killedProcessId)
    {
        await using var db = NewDbContext();
        var prefix = killedProcessId + ":";
        return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId)
            && (u.SyncState == SyncState.Synced || (u.SyncLeaseOwner != null && !u.SyncLeaseOwner.StartsWith(prefix)))) == ids.Count;
    }

    private async Task<int> CountAsync(System.Linq.Expressions.Expression<Func<User, bool>> predicate)
    {
        await using var db = NewDbContext();
        return await db.KeyUsers.CountAsync(predicate);
    }

    private Mama.Data.MamaDbContext NewDbContext() =>
        new Mama.Data.PostgresMamaDbContext(new DbContextOptionsBuilder<Mama.Data.PostgresMamaDbContext>().UseNpgsql(_database!.ConnectionString).Options);

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts) await host.DisposeAsync();
        if (_database is not null) await _database.DisposeAsync();
        if (_emulator is not null) await _emulator.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
    }
}
