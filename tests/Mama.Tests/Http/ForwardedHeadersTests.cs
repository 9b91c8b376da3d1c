using System.Net;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Http;

/// <summary>
/// mama behind a TLS-terminating proxy, in Production (HSTS is not sent in Development). The test server's
/// connection address is set per test: it plays the proxy, trusted or not.
/// </summary>
public abstract class ForwardedHeadersTests(MamaApp app)
{
    private const string ClientIp = "203.0.113.7";
    private const string Site = "http://mama.example.test/";

    public static TheoryData<string, string?, string?> TrustedProxies => new()
    {
        { "127.0.0.1", null, null }, // loopback is trusted when nothing is configured
        { "10.0.0.5", "192.0.2.1, 10.0.0.5", null },
        { "10.1.2.3", null, "10.1.0.0/16" },
    };

    [Theory]
    [MemberData(nameof(TrustedProxies))]
    public async Task BehindATrustedProxyTheCookieIsSecureRedirectsKeepHttpsHstsIsSentAndTheAuditHasTheClientsAddress(string proxy, string? knownProxies, string? knownNetworks)
    {
        var (username, password, _) = await app.NewAdminAsync();
        await using var host = ProductionHost(knownProxies, knownNetworks);
        using var browser = Behind(host, proxy);

        var home = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
        Assert.StartsWith("https://mama.example.test/login", home.Headers.Location!.ToString());

        var signedIn = await browser.SignInAsync(username, password);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Contains("secure", AuthCookieAttributes(signedIn));
        Assert.True(signedIn.Headers.TryGetValues("Strict-Transport-Security", out var hsts), "HSTS is sent over https.");
        Assert.StartsWith("max-age=", Assert.Single(hsts));
        Assert.Equal(ClientIp, await SignInAuditIpAsync(username));
    }

    public static TheoryData<string, string?> UntrustedProxies => new()
    {
        { "10.0.0.5", null }, // only loopback is trusted by default
        { "127.0.0.1", "10.0.0.5" }, // a configured list replaces the default
    };

    [Theory]
    [MemberData(nameof(UntrustedProxies))]
    public async Task FromAnUntrustedAddressTheForwardedHeadersAreIgnored(string proxy, string? knownProxies)
    {
        var (username, password, _) = await app.NewAdminAsync();
        await using var host = ProductionHost(knownProxies, null);
        using var browser = Behind(host, proxy);

        var home = await browser.GetAsync("/");
        Assert.StartsWith("http://mama.example.test/login", home.Headers.Location!.ToString());

        var signedIn = await browser.SignInAsync(username, password);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.DoesNotContain("secure", AuthCookieAttributes(signedIn));
        Assert.False(signedIn.Headers.Contains("Strict-Transport-Security"));
        Assert.Equal(proxy, await SignInAuditIpAsync(username));
    }

    private MamaHost ProductionHost(string? knownProxies, string? knownNetworks) => app.StartHost(new Dictionary<string, string?>
    {
        ["environment"] = "Production",
        // The fixture's generated key, so this host shares the fixture's key ring.
        ["Mama:EncryptionKey"] = File.ReadAllText(Path.Combine(app.Database.Folder, "encryption.key")).Trim(),
        ["ForwardedHeaders:KnownProxies"] = knownProxies,
        ["ForwardedHeaders:KnownNetworks"] = knownNetworks,
    });

    private static Browser Behind(MamaHost host, string proxy)
    {
        var browser = Browser.On(host, IPAddress.Parse(proxy), Site);
        browser.Headers["X-Forwarded-Proto"] = "https";
        browser.Headers["X-Forwarded-For"] = ClientIp;
        return browser;
    }

    private static List<string> AuthCookieAttributes(HttpResponseMessage response) =>
        [.. Assert.Single(Browser.SetCookies(response), c => c.StartsWith("mama.auth=")).Split(';').Skip(1).Select(a => a.Trim().ToLowerInvariant())];

    private async Task<string?> SignInAuditIpAsync(string username)
    {
        await using var db = app.NewDbContext();
        return await db.AuditEvents.AsNoTracking()
            .Where(e => e.Action == "auth.login" && e.Actor == username && e.Result == AuditResult.Success)
            .OrderByDescending(e => e.Id).Select(e => e.Ip) // the form's sign-in, after the API one that made the admin
            .FirstAsync(TestContext.Current.CancellationToken);
    }
}

public sealed class ForwardedHeadersTestsOnSqlite(SqliteApp app) : ForwardedHeadersTests(app), IClassFixture<SqliteApp>;
public sealed class ForwardedHeadersTestsOnPostgres(PostgresApp app) : ForwardedHeadersTests(app), IClassFixture<PostgresApp>;
