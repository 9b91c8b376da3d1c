using System.Net;
using System.Text.RegularExpressions;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Admins;

public abstract partial class CookieSessionTests(MamaApp app)
{
    [Fact]
    public async Task ACookieSessionEndsWhenThePasswordChanges()
    {
        var (username, password, api) = await app.NewAdminAsync();
        using var browser = app.CreateClient(); // keeps cookies, follows no redirects

        var signedIn = await SignInAsync(browser, username, password, returnUrl: "/");
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var home = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode); // a new admin must first replace the password someone else set
        Assert.Equal("/account/password?returnUrl=%2F", home.Headers.Location!.PathAndQuery);
        var account = await browser.GetAsync("/account/password");
        Assert.Equal(HttpStatusCode.OK, account.StatusCode);
        Assert.Contains(username, await account.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await api.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = "changed elsewhere" })).StatusCode);

        var after = await browser.GetAsync("/account/password");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.StartsWith("/login", after.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task AWrongPasswordOnTheLoginPageShowsTheErrorInWords()
    {
        var (username, _, _) = await app.NewAdminAsync();
        using var browser = app.CreateClient();
        var response = await SignInAsync(browser, username, "not the password", returnUrl: "/");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Invalid username or password.", await response.Content.ReadAsStringAsync());
    }

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string username, string password, string returnUrl)
    {
        var page = await browser.GetStringAsync("/login");
        var antiforgery = AntiforgeryField().Match(page);
        Assert.True(antiforgery.Success, "The login form carries an antiforgery token.");
        return await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [antiforgery.Groups[1].Value] = WebUtility.HtmlDecode(antiforgery.Groups[2].Value),
            ["_handler"] = "login",
            ["Input.Username"] = username,
            ["Input.Password"] = password,
            ["ReturnUrl"] = returnUrl,
        }));
    }

    [GeneratedRegex("name=\"(__RequestVerificationToken)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}

public sealed class CookieSessionTestsOnSqlite(SqliteApp app) : CookieSessionTests(app), IClassFixture<SqliteApp>;
public sealed class CookieSessionTestsOnPostgres(PostgresApp app) : CookieSessionTests(app), IClassFixture<PostgresApp>;
