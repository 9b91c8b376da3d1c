using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Mama.Admins;
using Mama.Data;
using Mama.Http;
using Mama.LiteLlmEmulator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Infrastructure;

/// <summary>One running mama on its own database, shared by the tests of one class.</summary>
public abstract class MamaApp : IAsyncLifetime
{
    /// <summary>The fixtures' super admin password, set at start in place of the bootstrap one (which must be changed).</summary>
    public const string SuperAdminPassword = "fixture-super-admin-pw";
    public const string BootstrapPassword = "fixture-bootstrap-pw";

    public const string MasterKey = "sk-test-master-key";

    private TestDatabase? _database;
    private MamaHost? _host;
    private RunningEmulator? _emulator;

    protected abstract string Provider { get; }

    /// <summary>Settings a fixture gives every host it starts, before a test's own overrides.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    /// <summary>For fixtures that watch the host, e.g. its logs.</summary>
    protected virtual void ConfigureHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
    {
    }

    public TestDatabase Database => _database ?? throw new InvalidOperationException("Not started.");
    public MamaHost Host => _host ?? throw new InvalidOperationException("Not started.");
    /// <summary>The LiteLLM emulator this app talks to, over real HTTP on 127.0.0.1.</summary>
    public RunningEmulator Emulator => _emulator ?? throw new InvalidOperationException("Not started.");
    public EmulatorControl LiteLlm => Emulator.Control;

    public async ValueTask InitializeAsync()
    {
        _emulator = await LiteLlmEmulatorHost.StartAsync(new EmulatorOptions { Port = 0, MasterKey = MasterKey }, CancellationToken.None);
        _database = await TestDatabase.CreateAsync(Provider);
        _host = StartHost();
        using var client = CreateClient();
        await ChangePasswordAsync(client, "admin", BootstrapPassword, SuperAdminPassword);
    }

    /// <summary>Signs in with a password someone else set and changes it, as every account must before doing anything.</summary>
    public static async Task ChangePasswordAsync(HttpClient client, string username, string current, string next)
    {
        var token = await TokenAsync(client, username, current);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/password") { Content = JsonContent.Create(new { current_password = current, new_password = next }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        var changed = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
    }

    /// <summary>A new mama on this fixture's database and emulator: a second instance, or a restart after disposing the first.</summary>
    public MamaHost StartHost(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Mama:BootstrapAdminPassword"] = BootstrapPassword,
            ["Mama:SignIn:AttemptsPerMinutePerAddress"] = "1000000",
            ["LiteLlm:UseEmulator"] = "false",
            ["LiteLlm:BaseUrl"] = Emulator.BaseUrl.ToString(),
            ["LiteLlm:MasterKey"] = MasterKey,
            ["LiteLlm:Timeout"] = "00:00:02",
            ["LiteLlm:InlineSyncBudget"] = "00:00:04",
            ["LiteLlm:ReconcileInterval"] = "00:00:00.250",
            ["LiteLlm:InitialBackoff"] = "00:00:00.100",
            ["LiteLlm:MaxBackoff"] = "00:00:01",
            ["LiteLlm:DriftCheckInterval"] = "00:00:00",
            ["LiteLlm:ModelsCacheDuration"] = "00:00:00",
            ["LiteLlm:SyncLease"] = "00:00:03",
            ["LiteLlm:SyncLeaseRenewal"] = "00:00:01",
            ["LiteLlm:CircuitBreakDuration"] = "00:00:00.500",
            // Webhook receivers in tests listen on 127.0.0.1.
            ["Mama:Webhooks:AllowPrivateNetworks"] = "true",
            ["Mama:Webhooks:InitialBackoff"] = "00:00:00.100",
            ["Mama:Webhooks:MaxBackoff"] = "00:00:00.500",
            ["Mama:Webhooks:PollInterval"] = "00:00:00.200",
            ["Mama:Webhooks:Timeout"] = "00:00:05",
        };
        foreach (var (key, value) in Settings.Concat(overrides ?? new Dictionary<string, string?>())) settings[key] = value;
        var host = new MamaHost(Database, settings, ConfigureHost);
        _ = host.Server; // start now, so migration failures surface here
        return host;
    }

    /// <summary>Replaces the running host (for tests that stop mama and start it again).</summary>
    public async Task RestartAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        if (_host is not null) await _host.DisposeAsync();
        _host = StartHost(overrides);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        if (_database is not null) await _database.DisposeAsync();
        if (_emulator is not null) await _emulator.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    public HttpClient CreateClient() => Host.CreateClient(new() { AllowAutoRedirect = false });

    public Task<HttpClient> SuperAdminAsync() => SignInAsync("admin", SuperAdminPassword);

    public async Task<HttpClient> SignInAsync(string username, string password)
    {
        var client = CreateClient();
        var token = await TokenAsync(client, username, password);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        return client;
    }

    public static async Task<TokenResponse> TokenAsync(HttpClient client, string username, string password)
    {
        var response = await client.PostAsJsonAsync("/api/v1/auth/token", new { username, password });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TokenResponse>(MamaJson.Options))!;
    }

    /// <summary>A new admin with a unique name, past its first password change, signed in.</summary>
    public async Task<(string Username, string Password, HttpClient Client)> NewAdminAsync(string role = "admin")
    {
        var (username, initial) = await NewAdminMustChangeAsync(role);
        var password = "pw-" + Guid.NewGuid().ToString("N");
        using (var client = CreateClient()) await ChangePasswordAsync(client, username, initial, password);
        return (username, password, await SignInAsync(username, password));
    }

    /// <summary>A new admin as a super admin creates it: its password must be changed before anything else.</summary>
    public async Task<(string Username, string Password)> NewAdminMustChangeAsync(string role = "admin")
    {
        var username = "adm-" + Guid.NewGuid().ToString("N")[..10];
        var password = "pw-" + Guid.NewGuid().ToString("N");
        using var super = await SuperAdminAsync();
        var created = await super.PostAsJsonAsync("/api/v1/admins", new { username, password, role });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (username, password);
    }

    /// <summary>Waits until the condition holds, polling; fails with the message after the timeout. Never a fixed sleep.</summary>
    /// <param name="every">How often to look; 50 ms unless the awaited state may be short-lived.</param>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null, TimeSpan? every = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("Timed out waiting: " + because);
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(50));
        }
    }

    public T Service<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    public MamaDbContext NewDbContext() =>
        Host.Services.GetRequiredService<IDbContextFactory<MamaDbContext>>().CreateDbContext();
}

public sealed class SqliteApp : MamaApp
{
    protected override string Provider => "sqlite";
}

public sealed class PostgresApp : MamaApp
{
    protected override string Provider => "postgres";
}
