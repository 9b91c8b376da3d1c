using System.Net;
using System.Text.RegularExpressions;
using Mama.Data;
using Mama.LiteLlmEmulator;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Data;

/// <summary>
/// Several instances started at the same moment on one empty database, as an orchestrator does: the real processes,
/// so migrations and the bootstrap race for real.
/// </summary>
public abstract partial class ConcurrentStartTests : IAsyncLifetime
{
    private RunningEmulator? _emulator;
    private TestDatabase? _database;

    protected abstract string Provider { get; }

    public async ValueTask InitializeAsync()
    {
        _emulator = await LiteLlmEmulatorHost.StartAsync(new EmulatorOptions { Port = 0, MasterKey = MamaApp.MasterKey }, CancellationToken.None);
        _database = await TestDatabase.CreateAsync(Provider);
    }

    [Fact]
    public async Task ThreeInstancesStartedAtOnceOnAnEmptyDatabaseAllComeUpWithExactlyOneBootstrappedSuperAdmin()
    {
        var environment = new Dictionary<string, string?>
        {
            ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
            ["Mama__EncryptionKey"] = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()),
            ["LiteLlm__BaseUrl"] = _emulator!.BaseUrl.ToString(),
            ["LiteLlm__MasterKey"] = MamaApp.MasterKey,
            ["Database__Provider"] = Provider,
            ["ConnectionStrings__Mama"] = _database!.ConnectionString,
        };
        // PostgreSQL instances are separate machines; SQLite ones share the folder that holds the file.
        var folders = Enumerable.Range(0, 3)
            .Select(i => Provider == "sqlite" ? _database.Folder : Directory.CreateDirectory(Path.Combine(_database.Folder, $"instance-{i}")).FullName).ToList();

        var starts = folders.Select(folder => MamaProcess.StartAsync(folder, environment)).ToList();
        await using var instances = new Instances(starts);
        await instances.WaitAsync();

        foreach (var mama in instances.Started)
        {
            using var client = mama.CreateClient();
            await MamaApp.EventuallyAsync(async () => (await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK, $"{mama.BaseUrl} is ready");
        }
        var printed = instances.Started.SelectMany(m => PrintedPassword().Matches(m.Output)).Select(m => m.Groups[1].Value).ToList();
        var password = Assert.Single(printed);
        foreach (var mama in instances.Started)
        {
            using var client = mama.CreateClient();
            Assert.True((await MamaApp.TokenAsync(client, "admin", password)).MustChangePassword);
        }

        await using var db = NewDbContext();
        var superAdmins = await (from account in db.Users
                                 join link in db.UserRoles on account.Id equals link.UserId
                                 join role in db.Roles on link.RoleId equals role.Id
                                 where role.Name == Mama.Admins.Roles.SuperAdmin
                                 select account.UserName).ToListAsync(TestContext.Current.CancellationToken);
        Assert.Equal(["admin"], superAdmins);
        Assert.Equal(Mama.Admins.Roles.All.Count(), await db.Roles.CountAsync(TestContext.Current.CancellationToken));
        Assert.Equal(1, await db.AuditEvents.CountAsync(e => e.Action == "admin.bootstrap", TestContext.Current.CancellationToken));
    }

    private MamaDbContext NewDbContext() => Provider == "sqlite"
        ? new SqliteMamaDbContext(new DbContextOptionsBuilder<SqliteMamaDbContext>().UseSqlite(_database!.ConnectionString).Options)
        : new PostgresMamaDbContext(new DbContextOptionsBuilder<PostgresMamaDbContext>().UseNpgsql(_database!.ConnectionString).Options);

    public async ValueTask DisposeAsync()
    {
        if (_database is not null) await _database.DisposeAsync();
        if (_emulator is not null) await _emulator.DisposeAsync();
    }

    /// <summary>Waits for every start, then stops whatever did start, even when another start failed.</summary>
    private sealed class Instances(List<Task<MamaProcess>> starts) : IAsyncDisposable
    {
        public List<MamaProcess> Started { get; } = [];

        public async Task WaitAsync()
        {
            try { await Task.WhenAll(starts); }
            finally { Started.AddRange(starts.Where(s => s.IsCompletedSuccessfully).Select(s => s.Result)); }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var mama in Started) await mama.DisposeAsync();
        }
    }

    [GeneratedRegex(@"one-time password[^\n]*\n\s*\n\s+(\S+)")]
    private static partial Regex PrintedPassword();
}

// One collection: six real processes starting at once on two shared cores would only measure the machine.
[Collection(nameof(ConcurrentStartTests))]
public sealed class ConcurrentStartTestsOnSqlite : ConcurrentStartTests
{
    protected override string Provider => "sqlite";
}

[Collection(nameof(ConcurrentStartTests))]
public sealed class ConcurrentStartTestsOnPostgres : ConcurrentStartTests
{
    protected override string Provider => "postgres";
}
