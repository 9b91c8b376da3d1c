using System.Diagnostics;
using System.Net;
using Mama.Sessions;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Sessions;

/// <summary>UI sessions through HTTP with cookies, as browsers (and their tabs) use them.</summary>
public abstract class UiSessionTests(MamaApp app)
{
    [Fact]
    public async Task SigningOutInOneTabRefusesTheOtherTabsNextRequestAndTheSignInPageSaysWhy()
    {
        var (username, password, _) = await app.NewAdminAsync();
        var (tab, jar) = await SignedInBrowserAsync(username, password);
        using var staleTab = CookieSignIn.Browser(app.Host, CookieSignIn.CopyOf(jar));
        Assert.Equal(HttpStatusCode.OK, (await staleTab.GetAsync("/account")).StatusCode);

        var signedOut = await CookieSignIn.SignOutAsync(tab);
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.Equal("/login", signedOut.RedirectTarget());

        // No polling: on the instance where it happened, the ending counts at once.
        var loginPage = await AssertRefusedAsync(staleTab, SessionEndReasons.SignedOut);
        Assert.Contains("You signed out in another tab or window.", loginPage);
        Assert.Equal(HttpStatusCode.Redirect, (await tab.GetAsync("/account")).StatusCode);
        await using var db = app.NewDbContext();
        var accountId = await db.Users.Where(a => a.UserName == username).Select(a => a.Id).SingleAsync();
        var session = await db.UiSessions.SingleAsync(s => s.AccountId == accountId);
        Assert.NotNull(session.EndedAt);
        Assert.Equal(SessionEndReasons.SignedOut, session.EndReason);
    }

    [Fact]
    public async Task SigningOutInOneBrowserLeavesTheSameAdminsOtherBrowserSignedIn()
    {
        var (username, password, _) = await app.NewAdminAsync();
        var (first, _) = await SignedInBrowserAsync(username, password);
        var (second, _) = await SignedInBrowserAsync(username, password);

        await CookieSignIn.SignOutAsync(first);

        await AssertRefusedAsync(first, reason: null);
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/account")).StatusCode);
        await using var db = app.NewDbContext();
        var accountId = await db.Users.Where(a => a.UserName == username).Select(a => a.Id).SingleAsync();
        Assert.Equal(1, await db.UiSessions.CountAsync(s => s.AccountId == accountId && s.EndedAt == null));
    }

    [Fact]
    public async Task ChangingThePasswordThroughTheApiEndsEveryBrowserSessionOfTheAccount()
    {
        var (username, password, api) = await app.NewAdminAsync();
        var (first, _) = await SignedInBrowserAsync(username, password);
        var (second, _) = await SignedInBrowserAsync(username, password);

        var changed = await api.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = "pw-" + Guid.NewGuid().ToString("N") });
        Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);

        var loginPage = await AssertRefusedAsync(first, SessionEndReasons.PasswordChanged);
        Assert.Contains("Your password was changed.", loginPage);
        await AssertRefusedAsync(second, SessionEndReasons.PasswordChanged);
    }

    [Fact]
    public async Task APasswordResetOrDeletionByASuperAdminEndsTheAccountsSessionsAndSaysWhich()
    {
        var (resetName, resetPassword, _) = await app.NewAdminAsync();
        var (deletedName, deletedPassword, _) = await app.NewAdminAsync();
        var (reset, _) = await SignedInBrowserAsync(resetName, resetPassword);
        var (deleted, _) = await SignedInBrowserAsync(deletedName, deletedPassword);
        using var super = await app.SuperAdminAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await super.PutJsonAsync($"/api/v1/admins/{resetName}/password", new { new_password = "pw-" + Guid.NewGuid().ToString("N") })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await super.DeleteAsync($"/api/v1/admins/{deletedName}")).StatusCode);

        Assert.Contains("An administrator reset your password.", await AssertRefusedAsync(reset, SessionEndReasons.PasswordReset));
        Assert.Contains("Your account was deleted", await AssertRefusedAsync(deleted, SessionEndReasons.AccountDeleted));
    }

    [Fact]
    public async Task ASignOutOnOneInstanceIsRefusedOnAnotherWithinFiveSeconds()
    {
        await using var other = app.StartHost();
        var (username, password, _) = await app.NewAdminAsync();
        var (tab, jar) = await SignedInBrowserAsync(username, password);
        using var tabOnOther = CookieSignIn.Browser(other, CookieSignIn.CopyOf(jar));
        Assert.Equal(HttpStatusCode.OK, (await tabOnOther.GetAsync("/account")).StatusCode); // now cached there as valid

        await CookieSignIn.SignOutAsync(tab);
        var since = Stopwatch.StartNew();

        await MamaApp.EventuallyAsync(async () => (await tabOnOther.GetAsync("/account")).StatusCode == HttpStatusCode.Redirect,
            "the other instance refuses the ended session", timeout: TimeSpan.FromSeconds(6));
        Assert.True(since.Elapsed < TimeSpan.FromSeconds(6.5), $"Refused after {since.Elapsed}.");
        await AssertRefusedAsync(tabOnOther, reason: null); // the refusal signed the tab out: its cookie is gone
    }

    [Theory]
    [InlineData("en", "idle", "Your session expired after 30 minutes without activity.")]
    [InlineData("en", "expired", "sessions last at most 12 hours")]
    [InlineData("ko", "idle", "30분 동안 활동이 없어 세션이 만료되었습니다.")]
    [InlineData("ko", "signed-out", "다른 탭이나 창에서 로그아웃했습니다.")]
    public async Task TheSignInPageSaysWhyTheSessionEndedInTheBrowsersLanguage(string language, string reason, string sentence)
    {
        using var browser = app.CreateClient();
        browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd(language);
        var page = WebUtility.HtmlDecode(await browser.GetStringAsync($"/login?returnUrl=%2Faudit&reason={reason}"));
        Assert.Contains(sentence, page);
        Assert.Contains("data-testid=\"session-ended\"", page);
    }

    [Fact]
    public async Task TheSignInPageNeverShowsAnUnknownReasonsText()
    {
        using var browser = app.CreateClient();
        var page = WebUtility.HtmlDecode(await browser.GetStringAsync("/login?reason=" + Uri.EscapeDataString("<b>call 555-0100</b>")));
        Assert.DoesNotContain("call 555-0100", page);
        Assert.DoesNotContain("data-testid=\"session-ended\"", page);
    }

    private async Task<(HttpClient Browser, System.Net.CookieContainer Jar)> SignedInBrowserAsync(string username, string password, MamaHost? host = null)
    {
        var jar = new System.Net.CookieContainer();
        var browser = CookieSignIn.Browser(host ?? app.Host, jar);
        var signedIn = await CookieSignIn.SignInAsync(browser, username, password, returnUrl: "/account");
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/account")).StatusCode);
        return (browser, jar);
    }

    /// <summary>Asserts the next request goes to sign-in (back to where it was, with the reason), and returns the sign-in page.</summary>
    internal static async Task<string> AssertRefusedAsync(HttpClient browser, string? reason)
    {
        var response = await browser.GetAsync("/account");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var target = response.RedirectTarget();
        Assert.StartsWith("/login?", target);
        var query = QueryHelpers.ParseQuery(target[target.IndexOf('?')..]);
        Assert.Equal("/account", query["ReturnUrl"].ToString());
        Assert.Equal(reason, query.TryGetValue("reason", out var given) ? given.ToString() : null);
        return await browser.GetStringAsync(target);
    }
}

public sealed class UiSessionTestsOnSqlite(SqliteApp app) : UiSessionTests(app), IClassFixture<SqliteApp>;
public sealed class UiSessionTestsOnPostgres(PostgresApp app) : UiSessionTests(app), IClassFixture<PostgresApp>;
