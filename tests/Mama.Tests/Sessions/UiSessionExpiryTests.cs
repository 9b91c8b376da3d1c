using System.Net;
using System.Security.Claims;
using Bunit;
using Mama.Admins;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Components;
using Mama.Components.Pages.ApiClients;
using Mama.Sessions;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Sessions;

/// <summary>Expiry of UI sessions (short settings on a second host of the same database) and open pages of ended sessions.</summary>
public abstract class UiSessionExpiryTests(MamaApp app)
{
    [Fact]
    public async Task ASessionWithoutActivityEndsAfterTheIdleTimeoutWhileActivityIsRecorded()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["Mama:Ui:IdleTimeout"] = "00:00:04" });
        var (username, password, _) = await app.NewAdminAsync();
        var (browser, session) = await SignedInAsync(host, username, password);

        await MamaApp.EventuallyAsync(async () =>
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/account")).StatusCode);
            await using var db = app.NewDbContext();
            return await db.UiSessions.AnyAsync(s => s.Id == session && s.LastSeenAt > s.CreatedAt);
        }, "a request is recorded as activity");

        // What an open page's periodic check does: it is not activity, so the session idles out.
        var sessions = host.Services.GetRequiredService<SessionService>();
        await MamaApp.EventuallyAsync(async () => await sessions.EndReasonAsync(session, activity: false) is not null, "the session idles out");
        Assert.Equal(SessionEndReasons.Idle, await sessions.EndReasonAsync(session, activity: false));

        var loginPage = await UiSessionTests.AssertRefusedAsync(browser, SessionEndReasons.Idle);
        Assert.Contains("Your session expired after 4 seconds without activity.", loginPage);
        await using var check = app.NewDbContext();
        Assert.Equal(SessionEndReasons.Idle, (await check.UiSessions.SingleAsync(s => s.Id == session)).EndReason);
    }

    [Fact]
    public async Task ASessionEndsAtItsAbsoluteLifetimeHoweverActive()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["Mama:Ui:AbsoluteLifetime"] = "00:00:05" });
        var (username, password, _) = await app.NewAdminAsync();
        var (browser, session) = await SignedInAsync(host, username, password);

        await MamaApp.EventuallyAsync(async () =>
        {
            var response = await browser.GetAsync("/account");
            return response.StatusCode == HttpStatusCode.Redirect && response.RedirectTarget().Contains("reason=expired");
        }, "the session reaches its absolute lifetime although requests keep coming");

        await using var db = app.NewDbContext();
        Assert.Equal(SessionEndReasons.Expired, (await db.UiSessions.SingleAsync(s => s.Id == session)).EndReason);
        var cookie = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions>>()
            .Get(IdentityConstants.ApplicationScheme);
        Assert.Equal(TimeSpan.FromSeconds(5) + SessionCookie.Grace, cookie.ExpireTimeSpan);
        Assert.False(cookie.SlidingExpiration);
    }

    [Fact]
    public async Task SessionsThatCannotWorkAnyMoreAreForgottenAMonthLaterWhenSomeoneSignsIn()
    {
        var longAgo = DateTimeOffset.UtcNow - TimeSpan.FromHours(12) - SessionService.KeepEnded - TimeSpan.FromMinutes(1);
        var recently = DateTimeOffset.UtcNow - TimeSpan.FromDays(2);
        var (old, ended) = ("old-" + Guid.NewGuid().ToString("N"), "ended-" + Guid.NewGuid().ToString("N"));
        await using (var db = app.NewDbContext())
        {
            db.UiSessions.Add(new UiSessionRecord { Id = old, AccountId = "gone", CreatedAt = longAgo, LastSeenAt = longAgo });
            db.UiSessions.Add(new UiSessionRecord { Id = ended, AccountId = "gone", CreatedAt = recently, LastSeenAt = recently, EndedAt = recently, EndReason = SessionEndReasons.SignedOut });
            await db.SaveChangesAsync();
        }
        var (username, password, _) = await app.NewAdminAsync();

        await SignedInAsync(app.Host, username, password);

        await using var check = app.NewDbContext();
        Assert.False(await check.UiSessions.AnyAsync(s => s.Id == old));
        Assert.True(await check.UiSessions.AnyAsync(s => s.Id == ended));
    }

    [Fact]
    public async Task AnOpenPageWhoseSessionWasSignedOutElsewhereCannotSaveAndGoesToSignIn()
    {
        var name = "stale-tab-" + Guid.NewGuid().ToString("N")[..8];
        await app.Service<ApiClientService>().CreateAsync(new CreateApiClientRequest(name, "billing", "all"), Actor.System, CancellationToken.None);
        var (username, password, _) = await app.NewAdminAsync("super_admin");
        var (browser, session) = await SignedInAsync(app.Host, username, password);
        await using var ui = new UiTest(app, username, sessionId: session);
        var page = ui.Render<ApiClientsPage>();
        page.WaitForAssertion(() => page.Find($"button[aria-label='Revoke {name}']"));

        await CookieSignIn.SignOutAsync(browser);
        page.Find($"button[aria-label='Revoke {name}']").Click();
        ui.Providers.WaitForAssertion(() => ui.Providers.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Revoke").Click());

        var navigation = ui.Services.GetRequiredService<NavigationManager>();
        page.WaitForAssertion(() => Assert.EndsWith("/login?returnUrl=%2F&reason=signed-out", navigation.Uri));
        await using var db = app.NewDbContext();
        Assert.Null((await db.ApiClients.SingleAsync(c => c.Name == name)).RevokedAt);
    }

    [Fact]
    public async Task AnOpenPageNoticesThatItsSessionEndedWithoutAnyActionAndKnowsWhy()
    {
        var (username, password, api) = await app.NewAdminAsync();
        var (_, session) = await SignedInAsync(app.Host, username, password);
        await using var scope = app.Host.Services.CreateAsyncScope();
        var circuit = (SessionRevalidation)scope.ServiceProvider.GetRequiredService<AuthenticationStateProvider>();
        var signIn = scope.ServiceProvider.GetRequiredService<SignInManager<AdminAccount>>();
        var user = await signIn.CreateUserPrincipalAsync((await signIn.UserManager.FindByNameAsync(username))!);
        ((ClaimsIdentity)user.Identity!).AddClaim(new Claim(SessionService.Claim, session));
        ((IHostEnvironmentAuthenticationStateProvider)circuit).SetAuthenticationState(Task.FromResult(new AuthenticationState(user)));

        var changed = await api.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = "pw-" + Guid.NewGuid().ToString("N") });
        Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);

        await MamaApp.EventuallyAsync(async () => (await circuit.GetAuthenticationStateAsync()).User.Identity?.IsAuthenticated != true,
            "the open page's periodic check signs it out");
        Assert.Equal(SessionEndReasons.PasswordChanged, circuit.EndReason);
    }

    /// <summary>A browser signed in through the login form, and the id of the UI session it got.</summary>
    private async Task<(HttpClient Browser, string Session)> SignedInAsync(MamaHost host, string username, string password)
    {
        var browser = CookieSignIn.Browser(host, new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await CookieSignIn.SignInAsync(browser, username, password, returnUrl: "/account")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/account")).StatusCode);
        await using var db = app.NewDbContext();
        var accountId = await db.Users.Where(a => a.UserName == username).Select(a => a.Id).SingleAsync();
        return (browser, await db.UiSessions.Where(s => s.AccountId == accountId).Select(s => s.Id).SingleAsync());
    }
}

public sealed class UiSessionExpiryTestsOnSqlite(SqliteApp app) : UiSessionExpiryTests(app), IClassFixture<SqliteApp>;
public sealed class UiSessionExpiryTestsOnPostgres(PostgresApp app) : UiSessionExpiryTests(app), IClassFixture<PostgresApp>;
