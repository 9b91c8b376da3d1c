using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Security;

public abstract partial class SecurityHeadersTests(MamaApp app)
{
    [Theory]
    [InlineData("/login", HttpStatusCode.OK)] // a page
    [InlineData("/app.css", HttpStatusCode.OK)] // a static file
    [InlineData("/health/live", HttpStatusCode.OK)] // an API response
    [InlineData("/api/v1/admins", HttpStatusCode.Unauthorized)] // an error, problem+json
    [InlineData("/api/v1/users/no-such-user", HttpStatusCode.NotFound)] // an error, problem+json from a handler
    public async Task EveryResponseCarriesTheSecurityHeaders(string path, HttpStatusCode status)
    {
        using var client = path == "/api/v1/users/no-such-user" ? await app.SuperAdminAsync() : app.CreateClient();
        var response = await client.GetAsync(path);

        Assert.Equal(status, response.StatusCode);
        var csp = Single(response, "Content-Security-Policy");
        foreach (var directive in new[] { "default-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:", "connect-src 'self'",
                     "frame-ancestors 'self'", "base-uri 'self'", "form-action 'self'", "object-src 'none'" })
            Assert.Contains(directive, csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        Assert.DoesNotContain("'unsafe-inline'", ScriptSources(csp));
        Assert.Equal("nosniff", Single(response, "X-Content-Type-Options"));
        Assert.Equal("no-referrer", Single(response, "Referrer-Policy"));
        Assert.False(response.Headers.Contains("Strict-Transport-Security"), "No HSTS over plain http, nor in Development.");
    }

    [Theory]
    [InlineData("/login")]
    [InlineData("/docs/")]
    public async Task InlineScriptsRunOnlyWithTheNonceThatTheirResponsesPolicyNames(string path)
    {
        using var client = app.CreateClient();
        var first = await client.GetAsync(path);
        var second = await client.GetAsync(path);

        var nonce = Nonce().Match(ScriptSources(Single(first, "Content-Security-Policy")));
        Assert.True(nonce.Success, "The policy names a nonce.");
        var inlineScripts = InlineScript().Matches(await first.Content.ReadAsStringAsync());
        Assert.NotEmpty(inlineScripts);
        Assert.All(inlineScripts, script => Assert.Equal(nonce.Groups[1].Value, WebUtility.HtmlDecode(NonceAttribute().Match(script.Value).Groups[1].Value)));
        Assert.DoesNotContain(nonce.Groups[1].Value, Single(second, "Content-Security-Policy")); // a new one each time
    }

    [Fact]
    public async Task SigningOutWithoutTheAntiforgeryTokenIsRefusedAndTheSessionStays()
    {
        var (username, password, _) = await app.NewAdminAsync();
        using var browser = Browser.On(app.Host);
        await browser.SignInAsync(username, password);
        Assert.True(await browser.IsSignedInAsync());

        var forged = await browser.PostFormAsync("/logout", []);
        var problem = await forged.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("antiforgery", problem.GetProperty("detail").GetString());
        Assert.True(await browser.IsSignedInAsync(), "A cross-site post must not end the session.");

        var signedOut = await browser.PostFormAsync("/logout", await browser.FormTokenAsync("/account/password"));
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.Equal("/login", signedOut.Headers.Location!.OriginalString);
        Assert.False(await browser.IsSignedInAsync());
    }

    [Fact]
    public async Task TheApiDocsCanBeKeptForSignedInAdmins()
    {
        var (username, password, api) = await app.NewAdminAsync();
        await using var host = app.StartHost(new Dictionary<string, string?> { ["Mama:ApiDocs"] = "admins" });

        using var anonymous = Browser.On(host);
        foreach (var path in new[] { "/openapi/v1.json", "/docs/" })
        {
            var refused = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
            Assert.StartsWith("/login", refused.Headers.Location!.PathAndQuery);
        }

        using var bearer = host.CreateClient(new() { AllowAutoRedirect = false });
        bearer.DefaultRequestHeaders.Authorization = api.DefaultRequestHeaders.Authorization;
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/openapi/v1.json")).StatusCode);
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.GetAsync("/openapi/v1.json")).StatusCode);

        using var cookie = Browser.On(host);
        await cookie.SignInAsync(username, password);
        Assert.Equal(HttpStatusCode.OK, (await cookie.GetAsync("/openapi/v1.json")).StatusCode);
        Assert.Contains("Scalar", await (await cookie.GetAsync("/docs/")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheApiDocsCanBeTurnedOff()
    {
        var (_, _, api) = await app.NewAdminAsync();
        await using var host = app.StartHost(new Dictionary<string, string?> { ["Mama:ApiDocs"] = "off" });
        using var client = host.CreateClient(new() { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = api.DefaultRequestHeaders.Authorization;

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/openapi/v1.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/docs/")).StatusCode);
    }

    [Fact]
    public async Task InProductionTheApiDocsAreForAdminsUnlessConfigured()
    {
        var key = File.ReadAllText(Path.Combine(app.Database.Folder, "encryption.key")).Trim();
        await using var production = app.StartHost(new Dictionary<string, string?> { ["environment"] = "Production", ["Mama:EncryptionKey"] = key });
        using var anonymous = production.CreateClient(new() { AllowAutoRedirect = false });
        Assert.Equal(HttpStatusCode.Redirect, (await anonymous.GetAsync("/openapi/v1.json")).StatusCode);

        await using var publicDocs = app.StartHost(new Dictionary<string, string?> { ["environment"] = "Production", ["Mama:EncryptionKey"] = key, ["Mama:ApiDocs"] = "public" });
        using var reader = publicDocs.CreateClient(new() { AllowAutoRedirect = false });
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/openapi/v1.json")).StatusCode);
    }

    private static string Single(HttpResponseMessage response, string header) =>
        Assert.Single(response.Headers.TryGetValues(header, out var values) ? values : response.Content.Headers.TryGetValues(header, out var content) ? content : []);

    private static string ScriptSources(string csp) => csp.Split(';').Select(d => d.Trim()).Single(d => d.StartsWith("script-src "));

    [GeneratedRegex("'nonce-([^']+)'")]
    private static partial Regex Nonce();

    /// <summary>The start tag of a script element without a src.</summary>
    [GeneratedRegex("<script(?![^>]*\\bsrc=)[^>]*>")]
    private static partial Regex InlineScript();

    [GeneratedRegex("\\bnonce=\"([^\"]*)\"")]
    private static partial Regex NonceAttribute();
}

public sealed class SecurityHeadersTestsOnSqlite(SqliteApp app) : SecurityHeadersTests(app), IClassFixture<SqliteApp>;
public sealed class SecurityHeadersTestsOnPostgres(PostgresApp app) : SecurityHeadersTests(app), IClassFixture<PostgresApp>;
