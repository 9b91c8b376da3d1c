using Deque.AxeCore.Playwright;
using Mama.Audit;
using Mama.EndToEnd.Infrastructure;
using Mama.Users;

namespace Mama.EndToEnd.Users;

/// <summary>The users page by keyboard alone: Tab, Enter and typing, no pointer.</summary>
public sealed class KeyboardTests(MamaE2E app) : BrowserTest(app)
{
    [Fact]
    public async Task AnAdminSignsInTabsToARowOpensItWithEnterChangesTheOrganisationAndSavesWithoutAPointer()
    {
        var tag = "kb" + Guid.NewGuid().ToString("N")[..8];
        var id = $"{tag}-user";
        await App.Service<UserService>().CreateAsync(new CreateUsersRequest([new NewUserRequest(id, $"{tag}-before", ["gpt-4o"], ["billing"], "")]),
            new Actor("e2e-fixture", null, null), CancellationToken.None);
        var admin = await App.NewAdminAsync(mustChangePassword: false);

        await GotoAsync($"/users?search={tag}");
        await TabToAsync(Page.GetByLabel("Username"));
        await Page.Keyboard.TypeAsync(admin.Username);
        await TabToAsync(Page.GetByLabel("Password", new() { Exact = true }));
        await Page.Keyboard.TypeAsync(admin.Password);
        await Page.Keyboard.PressAsync("Enter");
        await ExpectHeadingAsync("Users");
        await WaitForInteractiveAsync();

        var row = Page.GetByRole(AriaRole.Row, new() { Name = $"Edit {id}", Exact = true });
        await Expect(row).ToHaveCountAsync(1);
        await TabToAsync(row);
        var outline = await row.EvaluateAsync<string>("el => getComputedStyle(el).outlineStyle");
        Assert.Equal("solid", outline); // the focused row shows where the keyboard is
        await Page.Keyboard.PressAsync("Enter");

        var dialog = Page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToBeVisibleAsync();
        await TabToAsync(dialog.GetByLabel("Organisation"));
        await Page.Keyboard.PressAsync("Control+A");
        await Page.Keyboard.TypeAsync($"{tag}-after");
        await TabToAsync(dialog.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }));
        await Page.Keyboard.PressAsync("Enter");

        await Expect(dialog).ToBeHiddenAsync();
        await Expect(row).ToContainTextAsync($"{tag}-after");
        await Expect(row).ToBeFocusedAsync(); // back where the admin was
        var stored = await App.Service<UserService>().GetAsync(id, new Actor("e2e-fixture", null, null), CancellationToken.None);
        Assert.Equal($"{tag}-after", stored.Organization);
    }

    [Fact]
    public async Task SpaceOnARowOpensItTooAndEscapeClosesItWithFocusBackOnTheRow()
    {
        var tag = "kb" + Guid.NewGuid().ToString("N")[..8];
        var id = $"{tag}-user";
        await App.Service<UserService>().CreateAsync(new CreateUsersRequest([new NewUserRequest(id, tag, ["gpt-4o"], ["billing"], "")]),
            new Actor("e2e-fixture", null, null), CancellationToken.None);
        await SignInAsNewAdminAsync();
        await GotoAsync($"/users?search={tag}");
        await WaitForInteractiveAsync();

        var row = Page.GetByRole(AriaRole.Row, new() { Name = $"Edit {id}", Exact = true });
        await TabToAsync(row);
        await Page.Keyboard.PressAsync(" ");
        var dialog = Page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToBeVisibleAsync();
        await TabToAsync(dialog.GetByLabel("Organisation"));
        await Page.Keyboard.PressAsync("Escape");

        await Expect(dialog).ToBeHiddenAsync();
        await Expect(row).ToBeFocusedAsync();
    }

    [Fact]
    public async Task OnAPhoneAUserCardTakesFocusAndOpensWithEnter()
    {
        await Page.SetViewportSizeAsync(390, 844);
        var tag = "kb" + Guid.NewGuid().ToString("N")[..8];
        var id = $"{tag}-card";
        await App.Service<UserService>().CreateAsync(new CreateUsersRequest([new NewUserRequest(id, tag, ["gpt-4o"], [], "")]), new Actor("e2e-fixture", null, null), CancellationToken.None);
        await SignInAsNewAdminAsync();
        await GotoAsync($"/users?search={tag}");
        await WaitForInteractiveAsync();

        var card = Page.GetByRole(AriaRole.Row, new() { Name = $"Edit {id}", Exact = true });
        await TabToAsync(card);
        await Page.Keyboard.PressAsync("Enter");

        await Expect(Page.GetByRole(AriaRole.Dialog)).ToBeVisibleAsync();
    }

    [Fact]
    public async Task TheOrganisationSuggestionsTheHiddenSelectionTheUnavailableEntryAndTheNoMatchStateWorkAndPassAxe()
    {
        var tag = "kb" + Guid.NewGuid().ToString("N")[..8];
        await App.Service<UserService>().CreateAsync(new CreateUsersRequest(
            [new NewUserRequest($"{tag}-a", $"{tag}-ACME", ["gpt-4o"], [], ""), new NewUserRequest($"{tag}-b", $"{tag}-other", ["retired-model"], [], "")], AllowUnknownModels: true),
            new Actor("e2e-fixture", null, null), CancellationToken.None);
        await SignInAsNewAdminAsync();
        await GotoAsync($"/users?search={tag}");
        await WaitForInteractiveAsync();
        var rows = Page.Locator("[data-testid=users-grid] tbody tr.mud-table-row");
        await Expect(rows).ToHaveCountAsync(2);
        await Page.GetByLabel($"Select {tag}-a").CheckAsync();
        await Page.GetByLabel($"Select {tag}-b").CheckAsync();

        // Lower case finds the organisation written in capitals, offered as a suggestion.
        var organisation = Page.GetByTestId("organization-filter").Locator("input");
        await organisation.FillAsync($"{tag}-acme");
        await Expect(Page.GetByRole(AriaRole.Option, new() { Name = $"{tag}-ACME" })).ToBeVisibleAsync();
        await AssertAxeCleanAsync("organisation suggestions");
        await Page.GetByRole(AriaRole.Option, new() { Name = $"{tag}-ACME" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(Page.GetByTestId("selection-banner")).ToContainTextAsync("1 selected user is hidden by the filter");
        await AssertAxeCleanAsync("a hidden selection");

        await Page.GetByTestId("organization-filter").GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(2);
        await Page.GetByTestId("model-filter").ClickAsync();
        var unavailable = Page.GetByRole(AriaRole.Option, new() { Name = "Unavailable models" });
        await Expect(unavailable).ToBeVisibleAsync();
        await AssertAxeCleanAsync("the model filter's list");
        await unavailable.ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows).ToContainTextAsync($"{tag}-b");

        await Page.GetByRole(AriaRole.Searchbox, new() { Name = "Search" }).FillAsync("nobody-" + tag);
        await Expect(Page.GetByTestId("no-match")).ToBeVisibleAsync();
        await AssertAxeCleanAsync("no user matches");
        await Page.GetByTestId("no-match").GetByRole(AriaRole.Button, new() { Name = "Clear filters" }).ClickAsync();
        await Expect(Page.GetByTestId("no-match")).ToBeHiddenAsync();
        await Expect(Page.GetByTestId("selection-banner")).ToContainTextAsync("2 selected.");
    }

    private async Task AssertAxeCleanAsync(string where)
    {
        // A list still fading in has text of too little contrast for axe: wait for the end of the transition.
        // One check over whatever is open at each moment: a list that closes meanwhile is not waited for.
        await Page.WaitForFunctionAsync("() => [...document.querySelectorAll('.mud-popover-open')].every(e => getComputedStyle(e).opacity === '1')");
        var result = await Page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{where}: {v.Id} ({v.Impact}) {string.Join(", ", v.Nodes.Take(3).Select(n => n.Html))}").ToList();
        Assert.True(serious.Count == 0, string.Join("\n", serious));
    }

    /// <summary>Presses Tab until the element has focus; a bounded number of presses, as a keyboard user would.</summary>
    private async Task TabToAsync(ILocator target, int most = 100)
    {
        await Expect(target).ToBeVisibleAsync();
        for (var presses = 0; presses < most; presses++)
        {
            if (await target.EvaluateAsync<bool>("el => el === document.activeElement")) return;
            await Page.Keyboard.PressAsync("Tab");
        }
        Assert.Fail($"{most} presses of Tab did not reach {target}.");
    }
}
