using System.Net;
using Mama.ApiClients;
using Mama.Data;
using Mama.LiteLlmEmulator;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Infrastructure;

/// <summary>
/// A real mama process on its own database, syncing to an emulator in the test process, that a test kills
/// (<see cref="KillAsync"/>: no shutdown, nothing released) and starts again to see what a crash leaves.
/// </summary>
public abstract class ProcessCrashTest(string provider) : IAsyncLifetime
{
    private RunningEmulator? _emulator;
    private TestDatabase? _database;
    private MamaProcess? _instance;

    protected EmulatorControl Proxy => _emulator!.Control;

    protected MamaProcess Instance => _instance ?? throw new InvalidOperationException("No mama process is running.");

    public async ValueTask InitializeAsync()
    {
        _emulator = await LiteLlmEmulatorHost.StartAsync(new EmulatorOptions { Port = 0, MasterKey = MamaApp.MasterKey }, CancellationToken.None);
        _database = await TestDatabase.CreateAsync(provider);
    }

    /// <summary>Settings of every process this test starts, beside the syncing defaults.</summary>
    protected virtual void Configure(IDictionary<string, string?> environment)
    {
    }

    /// <summary>Starts a mama process in a folder of its own; it becomes <see cref="Instance"/>.</summary>
    protected async Task<MamaProcess> StartAsync(string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_database!.Folder, name)).FullName;
        var environment = MamaProcess.SyncingEnvironment(provider, _database.ConnectionString, _emulator!.BaseUrl);
        // Longer than the test: held proxy calls are never given up on before the process is killed.
        environment["LiteLlm__Timeout"] = "00:02:00";
        Configure(environment);
        return _instance = await MamaProcess.StartAsync(folder, environment);
    }

    /// <summary>Kills the running process: no shutdown, whatever was in flight never gets its answer.</summary>
    protected async Task KillAsync()
    {
        await Instance.DisposeAsync();
        _instance = null;
    }

    protected static async Task<string> CreateLookupClientAsync(MamaProcess mama)
    {
        using var admin = await mama.SignInSuperAdminAsync();
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = "lookups", service = "billing", scope = "all" }))
            .ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        return created.Token;
    }

    protected MamaDbContext NewDbContext() => provider == "sqlite"
        ? new SqliteMamaDbContext(new DbContextOptionsBuilder<SqliteMamaDbContext>().UseSqlite(_database!.ConnectionString).Options)
        : new PostgresMamaDbContext(new DbContextOptionsBuilder<PostgresMamaDbContext>().UseNpgsql(_database!.ConnectionString).Options);

    public async ValueTask DisposeAsync()
    {
        if (_instance is not null) await _instance.DisposeAsync();
        if (_database is not null) await _database.DisposeAsync();
        if (_emulator is not null) await _emulator.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
