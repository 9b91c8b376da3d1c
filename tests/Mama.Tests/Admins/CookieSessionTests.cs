using System.Net;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Admins;

public abstract class CookieSessionTests(MamaApp app)
{
    [Fact]
    public async Task ACookieSessionEndsWhenThePasswordChanges()
    {
        var (username, password) = await app.NewAdminMustChangeAsync();
        using var api = await app.SignInAsync(username, password);
        using var browser = app.CreateClient(); // keeps cookies, follows no redirects

        var signedIn = await CookieSignIn.SignInAsync(browser, username, password, returnUrl: "/");
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var home = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode); // a new admin must first replace the password someone else set
        Assert.Equal("/account/password?returnUrl=%2F", home.RedirectTarget());
        var account = await browser.GetAsync("/account/password");
        Assert.Equal(HttpStatusCode.OK, account.StatusCode);
        Assert.Contains(username, await account.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await api.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = "changed elsewhere" })).StatusCode);

        var after = await browser.GetAsync("/account/password");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.StartsWith("/login", after.RedirectTarget());
    }

    [Fact]
    public async Task AWrongPasswordOnTheLoginPageShowsTheErrorInWords()
    {
        var (username, _, _) = await app.NewAdminAsync();
        using var browser = app.CreateClient();
        var response = await CookieSignIn.SignInAsync(browser, username, "not the password", returnUrl: "/");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Invalid username or password.", await response.Content.ReadAsStringAsync());
    }
}

public sealed class CookieSessionTestsOnSqlite(SqliteApp app) : CookieSessionTests(app), IClassFixture<SqliteApp>;
public sealed class CookieSessionTestsOnPostgres(PostgresApp app) : CookieSessionTests(app), IClassFixture<PostgresApp>;
