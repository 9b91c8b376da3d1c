using Mama.Admins;
using Mama.Audit;
using Mama.LiteLlmEmulator;
using Mama.Sessions;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;

namespace Mama.EndToEnd.Infrastructure;

/// <summary>
/// One mama (own temp folder and SQLite file, own LiteLLM emulator) and one headless Debian Chromium, shared by every
/// browser test of the assembly. Tests never share rows: each creates the admins it signs in with.
/// </summary>
public sealed class MamaE2E : IAsyncLifetime
{
    public const string MasterKey = "sk-e2e-master-key";

    /// <summary>The TOOLCHAIN.md arguments for Debian's Chromium (no `playwright install`, no network besides loopback).</summary>
    private static readonly string[] ChromiumArgs =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    private string? _folder;
    private RunningEmulator? _emulator;
    private MamaServer? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public MamaServer Server => _server ?? throw new InvalidOperationException("Not started.");
    public Uri BaseUrl => Server.BaseUrl;
    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Not started.");
    /// <summary>The emulated LiteLLM proxy's state: the keys mama created, fault injection.</summary>
    public EmulatorControl LiteLlm => (_emulator ?? throw new InvalidOperationException("Not started.")).Control;

    public async ValueTask InitializeAsync()
    {
        _folder = Directory.CreateTempSubdirectory("mama-e2e-").FullName;
        _emulator = await LiteLlmEmulatorHost.StartAsync(new EmulatorOptions { Port = 0, MasterKey = MasterKey });
        _server = new MamaServer(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "sqlite",
            ["ConnectionStrings:Mama"] = new SqliteConnectionStringBuilder { DataSource = Path.Combine(_folder, "mama.db") }.ToString(),
            ["Mama:DataPath"] = _folder,
            // The bootstrap admin keeps the default password "admin", so the first sign-in is the real forced change.
            ["Mama:Ui:SessionCheckInterval"] = "00:00:01",
            ["Mama:SignIn:AttemptsPerMinutePerAddress"] = "1000000",
            ["LiteLlm:UseEmulator"] = "false",
            ["LiteLlm:BaseUrl"] = _emulator.BaseUrl.ToString(),
            ["LiteLlm:MasterKey"] = MasterKey,
            ["LiteLlm:DriftCheckInterval"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Environment.GetEnvironmentVariable("MAMA_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ChromiumArgs,
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
        if (_emulator is not null) await _emulator.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (_folder is not null) try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    public T Service<T>() where T : notnull => Server.Services.GetRequiredService<T>();

    /// <summary>Runs code with the app's own scoped services (UserManager, AdminService), as a request would.</summary>
    public async Task<T> WithScopeAsync<T>(Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider);
    }

    /// <summary>
    /// A new admin with a unique name, created through AdminService like a super admin would (so it must change its
    /// password at first sign-in), or already past that when <paramref name="mustChangePassword"/> is false.
    /// </summary>
    public Task<TestAdmin> NewAdminAsync(string role = "admin", bool mustChangePassword = true) => WithScopeAsync(async services =>
    {
        var admin = new TestAdmin("e2e-" + Guid.NewGuid().ToString("N")[..10], "pw-" + Guid.NewGuid().ToString("N"));
        await services.GetRequiredService<AdminService>().CreateAsync(new CreateAdminRequest(admin.Username, admin.Password, role), new Actor("e2e-fixture", null, null));
        if (!mustChangePassword)
        {
            var accounts = services.GetRequiredService<UserManager<AdminAccount>>();
            var account = (await accounts.FindByNameAsync(admin.Username))!;
            account.MustChangePassword = false;
            await accounts.UpdateAsync(account);
        }
        return admin;
    });

    /// <summary>Ends every session of the admin server-side, as a password reset elsewhere would.</summary>
    public Task EndSessionsAsync(string username) => WithScopeAsync(async services =>
    {
        var accounts = services.GetRequiredService<UserManager<AdminAccount>>();
        var account = (await accounts.FindByNameAsync(username))!;
        var changed = await accounts.UpdateSecurityStampAsync(account);
        await services.GetRequiredService<SessionService>().EndAllAsync(account.Id, SessionEndReasons.PasswordReset);
        return changed;
    });
}

/// <summary>An admin the test created; <see cref="Password"/> is the one it signs in with now.</summary>
public sealed record TestAdmin(string Username, string Password)
{
    /// <summary>A fresh valid password (≥ 10 characters, not the username, not "admin").</summary>
    public static string NewPassword() => "new-pw-" + Guid.NewGuid().ToString("N")[..12];
}
