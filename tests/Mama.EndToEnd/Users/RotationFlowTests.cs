using System.Text.RegularExpressions;
using Mama.Audit;
using Mama.EndToEnd.Infrastructure;
using Mama.Users;

namespace Mama.EndToEnd.Users;

public sealed class RotationFlowTests(MamaE2E app) : BrowserTest(app)
{
    [Fact]
    public async Task RotatingTwoTickedUsersShowsProgressUntilEveryNewKeyIsLiveAndThenTheRotatingBadge()
    {
        await SignInAsNewAdminAsync();
        var tag = "rot" + Guid.NewGuid().ToString("N")[..8];
        var ids = new[] { $"{tag}-a", $"{tag}-b" };
        await App.Service<UserService>().CreateAsync(
            new CreateUsersRequest(ids.Select(id => new NewUserRequest(id, tag, ["gpt-4o"], ["billing"], "")).ToList()), new Actor("e2e-fixture", null, null), CancellationToken.None);
        var oldKeys = ids.ToDictionary(id => id, id => App.LiteLlm.GetKeys().Single(k => k.KeyAlias == id).Key);

        await GotoAsync($"/users?search={tag}");
        await WaitForInteractiveAsync();
        var rows = Page.Locator("[data-testid=users-grid] tbody tr.mud-table-row");
        await Expect(rows).ToHaveCountAsync(2);
        foreach (var id in ids) await TickAsync(id);
        await Expect(Page.GetByTestId("selection-banner")).ToContainTextAsync("2 selected.");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Rotate keys" }).ClickAsync();
        var dialog = Page.GetByRole(AriaRole.Dialog);
        await Expect(dialog.GetByTestId("rotate-summary")).ToHaveTextAsync("Rotate the keys of 2 users.");
        await Expect(dialog.GetByRole(AriaRole.Radio, new() { Name = "24 hours (default)" })).ToBeCheckedAsync();
        await dialog.GetByRole(AriaRole.Radio, new() { Name = "1 hour" }).CheckAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Rotate 2 keys" }).ClickAsync();

        // The progress is polled about once a second until the sync has made both new keys live.
        await Expect(dialog.GetByTestId("rotation-progress")).ToBeVisibleAsync();
        await Expect(dialog.GetByTestId("rotation-done")).ToHaveTextAsync("2 of 2 new keys live");
        await Expect(dialog.GetByTestId("rotation-complete")).ToContainTextAsync("The old keys keep working for 1 hour");
        await Infrastructure.Screenshots.SaveAsync(Page, "rotation");
        foreach (var id in ids)
        {
            var current = App.LiteLlm.GetKeys().Single(k => k.KeyAlias == id);
            Assert.NotEqual(oldKeys[id], current.Key);
            Assert.Contains(App.LiteLlm.GetKeys(), k => k.Key == oldKeys[id]); // still working during the grace window
        }

        await dialog.GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        foreach (var id in ids)
            await Expect(rows.Filter(new() { HasText = id }).GetByTestId("rotating")).ToHaveTextAsync(new Regex("^rotating · old key until "));
    }

    /// <summary>Ticks a user's row checkbox and waits until it shows ticked (a dispatched click, as AdminFlowTests explains).</summary>
    private async Task TickAsync(string userId)
    {
        var checkbox = Page.GetByLabel($"Select {userId}");
        await Expect(checkbox).Not.ToBeCheckedAsync();
        await checkbox.DispatchEventAsync("click");
        await Expect(checkbox).ToBeCheckedAsync();
    }
}
