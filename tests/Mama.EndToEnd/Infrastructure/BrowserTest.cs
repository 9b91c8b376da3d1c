using System.Text.RegularExpressions;

namespace Mama.EndToEnd.Infrastructure;

/// <summary>
/// A browser test: a fresh browser context and page per test on the shared <see cref="MamaE2E"/>, helpers for the
/// steps every flow shares (sign in, forced password change, navigation), and one rule — a page script error or a
/// console error fails the test, unless the test announced it with <see cref="ExpectConsoleError"/>.
/// </summary>
public abstract class BrowserTest(MamaE2E app) : IAsyncLifetime
{
    /// <summary>Generous: the suite shares 2 cores with the other test assemblies; waits end as soon as the condition holds.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly List<string> _errors = [];
    private readonly List<Regex> _expectedErrors = [];
    private IBrowserContext? _context;
    private IPage? _page;

    protected MamaE2E App { get; } = app;
    protected IBrowserContext Context => _context ?? throw new InvalidOperationException("Not started.");
    protected IPage Page => _page ?? throw new InvalidOperationException("Not started.");

    /// <summary>The browser's language: override for a test class in another locale.</summary>
    protected virtual string Locale => "en-US";

    public async ValueTask InitializeAsync()
    {
        SetDefaultExpectTimeout((float)Timeout.TotalMilliseconds);
        _context = await App.Browser.NewContextAsync(new()
        {
            BaseURL = App.BaseUrl.ToString(),
            Locale = Locale,
            ExtraHTTPHeaders = new Dictionary<string, string> { ["Accept-Language"] = Locale },
            ViewportSize = new() { Width = 1440, Height = 900 },
        });
        _context.SetDefaultTimeout((float)Timeout.TotalMilliseconds);
        _page = await _context.NewPageAsync();
        _page.PageError += (_, error) => _errors.Add("page error: " + error);
        _page.Console += (_, message) =>
        {
            if (message.Type == "error") _errors.Add($"console error: {message.Text} ({message.Location})");
        };
    }

    public async ValueTask DisposeAsync()
    {
        if (_context is not null) await _context.CloseAsync();
        var unexpected = _errors.Where(e => !_expectedErrors.Any(r => r.IsMatch(e))).ToList();
        Assert.True(unexpected.Count == 0, "The browser reported errors:\n" + string.Join("\n", unexpected));
        GC.SuppressFinalize(this);
    }

    /// <summary>Allows a console error this test causes on purpose, e.g. Chromium's line for a page answered with 403.</summary>
    protected void ExpectConsoleError(string pattern) => _expectedErrors.Add(new Regex(pattern));

    /// <summary>Opens a page by path (as typing it into the address bar) and returns the final response.</summary>
    protected async Task<IResponse> GotoAsync(string path)
    {
        var response = await Page.GotoAsync(path);
        Assert.NotNull(response);
        return response;
    }

    /// <summary>
    /// Waits until the page's Blazor circuit has rendered (MainLayout sets data-interactive once it runs interactively):
    /// before that, clicks on interactive elements do nothing.
    /// </summary>
    protected Task WaitForInteractiveAsync() =>
        Expect(Page.Locator("[data-interactive='true']")).ToHaveCountAsync(1);

    /// <summary>Fills and posts the sign-in form (the page must be /login).</summary>
    protected async Task SignInAsync(string username, string password)
    {
        await Expect(Page).ToHaveURLAsync(new Regex("/login"));
        await Page.GetByLabel("Username").FillAsync(username);
        await Page.GetByLabel("Password", new() { Exact = true }).FillAsync(password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>Fills and posts the change-password form (the page must be /account or /account/password).</summary>
    protected async Task ChangePasswordAsync(string current, string next)
    {
        await Page.GetByLabel("Current password").FillAsync(current);
        await Page.GetByLabel("New password", new() { Exact = true }).FillAsync(next);
        await Page.GetByLabel("Repeat the new password").FillAsync(next);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
    }

    /// <summary>
    /// Opens the app, signs in, does the forced password change and waits for the users page, interactive.
    /// Returns the admin with the password it has now.
    /// </summary>
    protected async Task<TestAdmin> SignInFirstTimeAsync(TestAdmin admin)
    {
        await GotoAsync("/");
        await SignInAsync(admin.Username, admin.Password);
        await Expect(Page).ToHaveURLAsync(new Regex("/account/password"));
        await Expect(Page.GetByTestId("must-change-password")).ToBeVisibleAsync();
        var changed = admin with { Password = TestAdmin.NewPassword() };
        await ChangePasswordAsync(admin.Password, changed.Password);
        await ExpectHeadingAsync("Users");
        await WaitForInteractiveAsync();
        return changed;
    }

    /// <summary>A new admin of the role, signed in and past the forced change, on the users page.</summary>
    protected async Task<TestAdmin> SignInAsNewAdminAsync(string role = "admin") =>
        await SignInFirstTimeAsync(await App.NewAdminAsync(role));

    protected Task ExpectHeadingAsync(string name) =>
        Expect(Page.GetByRole(AriaRole.Heading, new() { Name = name, Level = 1 })).ToBeVisibleAsync();

    /// <summary>A link of the main menu by its visible name.</summary>
    protected ILocator NavLink(string name, string menu = "Main navigation") =>
        Page.GetByRole(AriaRole.Navigation, new() { Name = menu, Exact = true }).GetByRole(AriaRole.Link, new() { Name = name, Exact = true });

    /// <summary>Follows a main-menu link on an interactive page and waits for the page's heading.</summary>
    protected async Task NavigateAsync(string link, string heading)
    {
        await WaitForInteractiveAsync();
        await NavLink(link).ClickAsync();
        await ExpectHeadingAsync(heading);
    }
}
