using System.Text.RegularExpressions;
using Mama.EndToEnd.Infrastructure;

namespace Mama.EndToEnd.Account;

public sealed class SignInTests(MamaE2E app) : BrowserTest(app)
{
    [Fact]
    public async Task AnEndedSessionSendsTheOpenPageToTheLoginPageAndSigningInAgainReturnsToIt()
    {
        var admin = await SignInAsNewAdminAsync();
        await GotoAsync("/users?search=acme");
        await WaitForInteractiveAsync();

        // As a password reset by a super admin would: the stamp changes, and this browser loses its cookie.
        await App.EndSessionsAsync(admin.Username);
        await Context.ClearCookiesAsync();

        // Nobody touches the page: the circuit re-checks the session every second and leaves by itself.
        await Expect(Page).ToHaveURLAsync(new Regex(@"/login\?returnUrl=%2Fusers%3Fsearch%3Dacme&reason=password-reset$"));
        await Expect(Page.GetByTestId("session-ended")).ToContainTextAsync("An administrator reset your password.");
        await SignInAsync(admin.Username, admin.Password);

        await Expect(Page).ToHaveURLAsync(new Regex(@"/users\?search=acme$"));
        await ExpectHeadingAsync("Users");
    }

    [Fact]
    public async Task SigningOutInOneTabSendsTheOtherTabToTheLoginPageWithTheReasonAndBackAfterSigningIn()
    {
        var admin = await SignInAsNewAdminAsync();
        var otherTab = await Context.NewPageAsync();
        otherTab.PageError += (_, error) => Assert.Fail("page error in the other tab: " + error);
        await otherTab.GotoAsync("/users?search=acme");
        await Expect(otherTab.Locator("[data-interactive='true']")).ToHaveCountAsync(1);

        await Page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await Expect(Page).ToHaveURLAsync(new Regex("/login$"));
        await Expect(Page.GetByTestId("session-ended")).ToHaveCountAsync(0);

        // The other tab's page goes by itself within a check interval (or at its next click, whichever comes first).
        await Expect(otherTab).ToHaveURLAsync(new Regex(@"/login\?returnUrl=%2Fusers%3Fsearch%3Dacme&reason=signed-out$"));
        await Expect(otherTab.GetByTestId("session-ended")).ToHaveTextAsync("You signed out in another tab or window.");
        await otherTab.GetByLabel("Username").FillAsync(admin.Username);
        await otherTab.GetByLabel("Password", new() { Exact = true }).FillAsync(admin.Password);
        await otherTab.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(otherTab).ToHaveURLAsync(new Regex(@"/users\?search=acme$"));
    }

    [Fact]
    public async Task AWrongPasswordIsRefusedOnTheLoginPage()
    {
        var admin = await App.NewAdminAsync(mustChangePassword: false);
        ExpectConsoleError("status of 401");
        await GotoAsync("/login");

        await SignInAsync(admin.Username, "not-the-password");

        await Expect(Page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Invalid username or password.");
        await Expect(Page).ToHaveURLAsync(new Regex("/login"));
    }
}
