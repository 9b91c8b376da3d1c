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
        await Expect(Page.GetByRole(AriaRole.Dialog)).ToBeVisibleAsync();
        await Page.Keyboard.PressAsync("Escape");

        await Expect(Page.GetByRole(AriaRole.Dialog)).ToBeHiddenAsync();
        await Expect(row).ToBeFocusedAsync();
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
