using System.Text.RegularExpressions;
using Mama.Admins;
using Mama.EndToEnd.Infrastructure;

namespace Mama.EndToEnd.Shell;

/// <summary>The frame around every page: the app bar on a phone, keyboard focus, and a dialog's input across a reconnect.</summary>
public sealed class ShellTests(MamaE2E app) : BrowserTest(app)
{
    [Fact]
    public async Task OnAPhoneTheMenuStartsClosedAndLanguageAndAccountShareOneMenu()
    {
        await Page.SetViewportSizeAsync(390, 844);
        var admin = await SignInAsNewAdminAsync();

        await Expect(NavLink("Audit log")).Not.ToBeInViewportAsync();
        await Expect(Page.GetByTestId("signed-in-as")).Not.ToBeVisibleAsync();
        await Expect(Page.GetByTestId("language-switch")).Not.ToBeVisibleAsync();
        await Infrastructure.Screenshots.SaveAsync(Page, "app-bar-phone");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Account and language" }).ClickAsync();
        var menu = Page.GetByRole(AriaRole.Menu);
        await Expect(menu.GetByTestId("menu-signed-in-as")).ToHaveTextAsync(admin.Username);
        foreach (var item in new[] { "Account", "English", "한국어", "Log out" })
            await Expect(menu.GetByRole(AriaRole.Menuitem, new() { Name = item })).ToBeVisibleAsync();
        await Page.Keyboard.PressAsync("Escape");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Show or hide the menu" }).ClickAsync();
        await NavLink("Audit log").ClickAsync();
        await ExpectHeadingAsync("Audit log");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Account and language" }).ClickAsync();
        await Page.GetByRole(AriaRole.Menu).GetByRole(AriaRole.Menuitem, new() { Name = "Log out" }).ClickAsync();
        await Expect(Page).ToHaveURLAsync(new Regex("/login"));
    }

    [Fact]
    public async Task OnAWideScreenLanguageNameAndLogOutStayInTheAppBar()
    {
        var admin = await SignInAsNewAdminAsync();

        await Expect(Page.GetByTestId("signed-in-as")).ToHaveTextAsync(admin.Username);
        await Expect(Page.GetByTestId("language-switch")).ToBeVisibleAsync();
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Account and language" })).Not.ToBeVisibleAsync();
        await Expect(NavLink("Audit log")).ToBeVisibleAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await Expect(Page).ToHaveURLAsync(new Regex("/login"));
    }

    [Fact]
    public async Task ADialogOpenedByKeyboardFocusesItsFirstFieldAndGivesFocusBackOnEscWithVisibleOutlines()
    {
        await SignInAsNewAdminAsync(Roles.SuperAdmin);
        await NavigateAsync("Admins", "Admins");
        var heading = Page.GetByRole(AriaRole.Heading, new() { Name = "Admins", Level = 1 });
        await Expect(heading).ToBeFocusedAsync(); // Blazor moves focus there for screen readers ...
        Assert.Equal("none", await OutlineAsync("h1")); // ... but it is no control: no focus box

        var create = Page.GetByTestId("create-admin");
        await create.FocusAsync();
        await Page.Keyboard.PressAsync("Enter");
        var dialog = Page.GetByRole(AriaRole.Dialog);
        await Expect(dialog.GetByLabel("Username")).ToBeFocusedAsync();
        await Page.Keyboard.PressAsync("Tab");
        await Page.Keyboard.PressAsync("Tab");
        Assert.Equal("solid", await OutlineAsync(":is(.mud-button-root:has(input:focus-visible), :focus-visible)")); // the first role radio

        await Page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(create).ToBeFocusedAsync();
        Assert.Equal("solid", await OutlineAsync("[data-testid=create-admin]"));
    }

    [Fact]
    public async Task TextTypedIntoADialogIsStillThereAfterTheConnectionDropsAndComesBack()
    {
        await SignInAsNewAdminAsync();
        var typed = "kept-" + Guid.NewGuid().ToString("N")[..8];
        await Page.GetByRole(AriaRole.Button, new() { Name = "Add users" }).ClickAsync();
        var add = Page.GetByRole(AriaRole.Dialog);
        await add.GetByLabel("User ID (row 1)").FillAsync(typed);
        await add.GetByLabel("Organisation (row 1)").FillAsync("org-" + typed);

        // Offline stops the reconnect attempts; dropping the socket is what a network blip does (offline alone keeps it).
        ExpectConsoleError("ERR_INTERNET_DISCONNECTED|Failed to fetch|WebSocket|negotiat|Connection disconnected|reconnect");
        await Context.SetOfflineAsync(true);
        await Page.EvaluateAsync("() => Blazor._internal.forceCloseConnection()");
        var banner = Page.Locator("#components-reconnect-modal");
        await Expect(banner).ToBeVisibleAsync();
        await Expect(banner.GetByText("what you have typed is kept")).ToBeVisibleAsync();
        await Infrastructure.Screenshots.SaveAsync(Page, "reconnecting");

        await Context.SetOfflineAsync(false);
        await Page.EvaluateAsync("() => Blazor.reconnect()");
        await Expect(banner).Not.ToBeVisibleAsync();
        await Expect(add.GetByLabel("User ID (row 1)")).ToHaveValueAsync(typed);
        await Expect(add.GetByLabel("Organisation (row 1)")).ToHaveValueAsync("org-" + typed);
        // The circuit is the same one: the dialog still answers (Cancel closes it) and knows what was typed.
        await add.GetByLabel("User ID (row 1)").FillAsync(typed + "-2");
        await Expect(add.GetByLabel("User ID (row 1)")).ToHaveValueAsync(typed + "-2");
    }

    [Fact]
    public async Task TimesAreShownInTheBrowsersTimeZoneWhichIsNamedOnHover()
    {
        await using var seoul = await App.Browser.NewContextAsync(new() { BaseURL = App.BaseUrl.ToString(), TimezoneId = "Asia/Seoul", Locale = "en-US" });
        await SignInAsNewAdminAsync(); // the sign-in is in the audit log: a time to show
        var page = await seoul.NewPageAsync();
        foreach (var cookie in await Context.CookiesAsync()) await seoul.AddCookiesAsync([new() { Name = cookie.Name, Value = cookie.Value, Domain = cookie.Domain, Path = cookie.Path }]);

        await page.GotoAsync("/audit");
        var first = page.GetByTestId("audit-table").Locator("time[title='Time zone: Asia/Seoul (UTC+09:00)']").First;
        await Expect(first).ToBeVisibleAsync();
        Assert.Contains("(Asia/Seoul (UTC+09:00))", await first.TextContentAsync());
    }

    private Task<string> OutlineAsync(string selector) =>
        Page.EvaluateAsync<string>("s => { const e = document.querySelector(s); return e ? getComputedStyle(e).outlineStyle : 'missing'; }", selector);
}
