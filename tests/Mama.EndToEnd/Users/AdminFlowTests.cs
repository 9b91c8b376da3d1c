using System.Text.RegularExpressions;
using Mama.EndToEnd.Infrastructure;

namespace Mama.EndToEnd.Users;

public sealed class AdminFlowTests(MamaE2E app) : BrowserTest(app)
{
    [Fact]
    public async Task FromTheFirstSignInThroughCreateSearchSortBatchEditAndDeleteToTheAuditTrail()
    {
        // The only test that signs in as the bootstrap admin: its password changes here.
        await GotoAsync("/");
        await Expect(Page).ToHaveURLAsync(new Regex("/login"));
        await SignInAsync("admin", "admin");
        await Expect(Page).ToHaveURLAsync(new Regex("/account/password"));
        await Expect(Page.GetByTestId("must-change-password")).ToBeVisibleAsync();
        await ChangePasswordAsync("admin", TestAdmin.NewPassword());
        await ExpectHeadingAsync("Users");
        await WaitForInteractiveAsync();
        await Expect(Page.GetByTestId("signed-in-as")).ToHaveTextAsync("admin");

        // Create 3 users in one dialog, from pasted lines, and a fourth that the search below leaves out. Organisations
        // run opposite to the IDs (a has org-c), so the sorted order shows only once the sort has been applied.
        var tag = "e2e" + Guid.NewGuid().ToString("N")[..8];
        string Id(char c) => $"{tag}-{c}";
        var other = "other" + Guid.NewGuid().ToString("N")[..8];
        await Page.GetByRole(AriaRole.Button, new() { Name = "Add users" }).ClickAsync();
        var add = Page.GetByRole(AriaRole.Dialog);
        await add.GetByText("Paste CSV or TSV lines").ClickAsync();
        await add.GetByLabel("Lines to add").FillAsync(string.Join("\n", "cab".Select(c => $"{Id(c)},{tag}-org-{(char)('a' + 'c' - c)},gpt-4o,billing,created in the browser").Append($"{other},{other}-org,gpt-4o,billing,not searched for")));
        await add.GetByRole(AriaRole.Button, new() { Name = "Add pasted lines" }).ClickAsync();
        await add.GetByRole(AriaRole.Button, new() { Name = "Create 4 users" }).ClickAsync();
        await Expect(add.GetByText("4 users created.")).ToBeVisibleAsync();
        await Expect(add.GetByTestId("sync-outcomes")).ToContainTextAsync("4 synced");
        await add.GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();

        // Search (through the address, which a bookmark or link uses too; typing into the box is the bUnit tests'
        // subject: here its debounce could land after the ticks below and clear them), then sort by a header.
        await GotoAsync($"/users?search={tag}");
        await WaitForInteractiveAsync();
        await Expect(Page.GetByLabel("Search")).ToHaveValueAsync(tag);
        var rows = Page.Locator("[data-testid=users-grid] tbody tr.mud-table-row");
        await Expect(rows).ToHaveCountAsync(3);
        await Page.GetByRole(AriaRole.Columnheader, new() { Name = "Organisation" }).GetByText("Organisation", new() { Exact = true }).ClickAsync();
        await Expect(rows.Nth(0)).ToContainTextAsync($"{tag}-org-a");
        await Expect(rows.Nth(2)).ToContainTextAsync($"{tag}-org-c");
        await Infrastructure.Screenshots.SaveAsync(Page, "users");

        // Select 2 and add a model to them.
        // Ticked one at a time, each waited for. The click goes to the checkbox itself rather than to a point on the
        // screen, which a re-render of the grid can shift onto the row (opening the user's dialog) just as it lands.
        var banner = Page.GetByTestId("selection-banner");
        var gridTop = (await Page.GetByTestId("users-grid").BoundingBoxAsync())!.Y;
        await TickAsync(Id('a'));
        await Expect(banner).ToContainTextAsync("1 selected.");
        Assert.Equal(gridTop, (await Page.GetByTestId("users-grid").BoundingBoxAsync())!.Y); // the banner took its reserved place
        await TickAsync(Id('b'));
        await Expect(banner).ToContainTextAsync("2 selected.");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Edit selected" }).ClickAsync();
        var edit = Page.GetByRole(AriaRole.Dialog);
        await edit.GetByTestId("edit-models").GetByText("Add", new() { Exact = true }).ClickAsync();
        await edit.GetByTestId("edit-models").Locator(".mud-select").First.ClickAsync();
        await Page.Locator(".mud-popover-open").GetByText("claude-sonnet-4", new() { Exact = true }).ClickAsync();
        await ClosePickerAsync(edit);
        await Expect(edit).ToBeVisibleAsync();
        await Expect(edit.GetByTestId("edit-preview")).ToHaveTextAsync("2 of 2 users will change (models for 2); 0 unchanged.");
        await Infrastructure.Screenshots.SaveAsync(Page, "batch-edit");
        await edit.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(edit.GetByText("2 changed, 0 unchanged.")).ToBeVisibleAsync();
        await edit.GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();

        // The chips and LiteLLM's state agree.
        foreach (var c in "ab")
        {
            var row = rows.Filter(new() { HasText = Id(c) });
            await Expect(row.Locator("[data-model='claude-sonnet-4']")).ToHaveCountAsync(1);
            Assert.Equal(["claude-sonnet-4", "gpt-4o"], App.LiteLlm.GetKeys().Single(k => k.KeyAlias == Id(c)).Models.Order());
        }
        await Expect(rows.Filter(new() { HasText = Id('c') }).Locator("[data-model='claude-sonnet-4']")).ToHaveCountAsync(0);
        Assert.Equal(["gpt-4o"], App.LiteLlm.GetKeys().Single(k => k.KeyAlias == Id('c')).Models);

        // Delete 1 through the confirmation.
        await TickAsync(Id('c'));
        await Expect(banner).ToContainTextAsync("1 selected.");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Delete selected" }).ClickAsync();
        var delete = Page.GetByRole(AriaRole.Dialog);
        await Expect(delete.GetByTestId("delete-names")).ToHaveTextAsync(Id('c'));
        await delete.GetByRole(AriaRole.Button, new() { Name = "Delete 1 user" }).ClickAsync();
        await Expect(delete.GetByTestId("sync-outcomes")).ToBeVisibleAsync();
        await delete.GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(2);
        Assert.DoesNotContain(App.LiteLlm.GetKeys(), k => k.KeyAlias == Id('c'));

        // The audit page shows each step.
        await NavigateAsync("Audit log", "Audit log");
        var audit = Page.GetByTestId("audit-table");
        foreach (var action in new[] { "auth.login", "auth.password_change", "user.create", "user.list", "user.update", "user.delete" })
            await Expect(audit.GetByTestId("audit-action-cell").GetByText(action, new() { Exact = true }).First).ToBeVisibleAsync();
        await Infrastructure.Screenshots.SaveAsync(Page, "audit");
    }

    /// <summary>Ticks a user's row checkbox and waits until it shows ticked.</summary>
    private async Task TickAsync(string userId)
    {
        var checkbox = Page.GetByLabel($"Select {userId}");
        await Expect(checkbox).Not.ToBeCheckedAsync();
        await checkbox.DispatchEventAsync("click");
        await Expect(checkbox).ToBeCheckedAsync();
    }

    /// <summary>
    /// Closes an open MudSelect list by a click on the dialog's own title, which lands on the select's overlay (a click
    /// outside the dialog would be a backdrop click: with changes, the dialog asks to discard them). Bounded retries,
    /// each waiting for the list to go, not for the clock.
    /// </summary>
    private async Task ClosePickerAsync(ILocator dialog)
    {
        var open = Page.Locator(".mud-popover-open");
        var title = (await dialog.Locator(".mud-dialog-title").BoundingBoxAsync())!;
        for (var attempt = 0; attempt < 4 && await open.CountAsync() > 0; attempt++)
        {
            await Page.Mouse.ClickAsync(title.X + title.Width - 8, title.Y + 8);
            try { await open.First.WaitForAsync(new() { State = WaitForSelectorState.Detached, Timeout = 3000 }); }
            catch (TimeoutException) { }
        }
        await Expect(open).ToHaveCountAsync(0);
    }
}
