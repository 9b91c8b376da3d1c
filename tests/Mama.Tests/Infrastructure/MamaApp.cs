using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Mama.Admins;
using Mama.Data;
using Mama.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Infrastructure;

/// <summary>One running mama on its own database, shared by the tests of one class.</summary>
public abstract class MamaApp : IAsyncLifetime
{
    /// <summary>The fixtures' super admin password; the default "admin" is covered by the bootstrap tests.</summary>
    public const string SuperAdminPassword = "fixture-super-admin-pw";

    private TestDatabase? _database;
    private MamaHost? _host;

    protected abstract string Provider { get; }

    public TestDatabase Database => _database ?? throw new InvalidOperationException("Not started.");
    public MamaHost Host => _host ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(Provider);
        _host = new MamaHost(_database, new Dictionary<string, string?> { ["Mama:BootstrapAdminPassword"] = SuperAdminPassword });
        _ = _host.Server; // start now, so migration failures surface in the fixture
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        if (_database is not null) await _database.DisposeAsync();
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

    /// <summary>A new plain admin with a unique name, signed in.</summary>
    public async Task<(string Username, string Password, HttpClient Client)> NewAdminAsync(string role = "admin")
    {
        var username = "adm-" + Guid.NewGuid().ToString("N")[..10];
        var password = "pw-" + Guid.NewGuid().ToString("N");
        using var super = await SuperAdminAsync();
        var created = await super.PostAsJsonAsync("/api/v1/admins", new { username, password, role });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (username, password, await SignInAsync(username, password));
    }

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
