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
        await Expect(Page).ToHaveURLAsync(new Regex(@"/login\?returnUrl=%2Fusers%3Fsearch%3Dacme$"));
        await SignInAsync(admin.Username, admin.Password);

        await Expect(Page).ToHaveURLAsync(new Regex(@"/users\?search=acme$"));
        await ExpectHeadingAsync("Users");
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
