using Mama.Audit;
using Mama.EndToEnd.Infrastructure;
using Mama.Users;

namespace Mama.EndToEnd.Users;

/// <summary>The users page at a laptop's 1280 px, a tablet's 768 px and a phone's 390 px: nothing needs a sideways scroll.</summary>
public sealed class UsersLayoutTests(MamaE2E app) : BrowserTest(app)
{
    private static readonly string[] AllModels = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "text-embedding-3-small"];

    [Fact]
    public async Task At1280PixelsTheUsersTableShowsIdOrganisationModelsSyncAndUpdatedWithoutASidewaysScroll()
    {
        await Page.SetViewportSizeAsync(1280, 800);
        var (tag, id) = await UserWithLongValuesAsync();
        await SignInAsNewAdminAsync();
        await GotoAsync($"/users?search={tag}");
        await WaitForInteractiveAsync();
        var row = Page.Locator("[data-testid=users-grid] tbody tr.mud-table-row");
        await Expect(row).ToHaveCountAsync(1);

        await ExpectNoSidewaysScrollAsync();
        foreach (var header in new[] { "User ID", "Organisation", "Allowed models", "Sync", "Updated" })
            await Expect(Page.GetByRole(AriaRole.Columnheader, new() { Name = header })).ToBeInViewportAsync();
        await Expect(row.GetByText(id, new() { Exact = true })).ToBeInViewportAsync();
        await Expect(row.GetByText($"{tag}-organisation", new() { Exact = true })).ToBeInViewportAsync();
        await Expect(row.GetByTestId("sync")).ToBeInViewportAsync();
        await Expect(row.GetByTestId("more-models")).ToHaveTextAsync("+2");
        await Expect(row.GetByTestId("key-menu")).ToBeInViewportAsync();
        await Infrastructure.Screenshots.SaveAsync(Page, "users-1280");

        // The column chooser adds what the table leaves out, and this admin finds it so after a reload.
        await Expect(Page.GetByRole(AriaRole.Columnheader, new() { Name = "Created" })).ToHaveCountAsync(0);
        await Page.GetByTestId("column-menu").GetByRole(AriaRole.Button, new() { Name = "Columns" }).ClickAsync();
        await Page.GetByTestId("column-chooser").GetByLabel("Created").CheckAsync();
        await Expect(Page.GetByRole(AriaRole.Columnheader, new() { Name = "Created" })).ToHaveCountAsync(1);
        await Page.ReloadAsync();
        await WaitForInteractiveAsync();
        await Expect(Page.GetByRole(AriaRole.Columnheader, new() { Name = "Created" })).ToHaveCountAsync(1);
        await Expect(row.GetByText(id, new() { Exact = true })).ToBeInViewportAsync();
    }

    [Theory]
    [InlineData(390, 844)]
    [InlineData(768, 1024)]
    public async Task OnAPhoneOrTabletAUserCardShowsItsValuesWithoutASidewaysScroll(int width, int height)
    {
        await Page.SetViewportSizeAsync(width, height);
        var (tag, id) = await UserWithLongValuesAsync();
        await SignInAsNewAdminAsync();
        await GotoAsync($"/users?search={tag}");
        await WaitForInteractiveAsync();
        var card = Page.Locator("[data-testid=users-grid] tbody tr.mud-table-row");
        await Expect(card).ToHaveCountAsync(1);

        await ExpectNoSidewaysScrollAsync();
        await Expect(card.GetByText(id, new() { Exact = true })).ToBeInViewportAsync(new() { Ratio = 1 });
        await Expect(card.GetByText($"{tag}-organisation", new() { Exact = true })).ToBeInViewportAsync(new() { Ratio = 1 });
        await Expect(card.GetByTestId("sync")).ToBeInViewportAsync(new() { Ratio = 1 });
        await Infrastructure.Screenshots.SaveAsync(Page, $"users-{width}");
    }

    [Fact]
    public async Task OnAPhoneAddUsersOpensFullScreenAndCreatesTheUsers()
    {
        await Page.SetViewportSizeAsync(390, 844);
        var tag = "lay" + Guid.NewGuid().ToString("N")[..8];
        await SignInAsNewAdminAsync();
        await WaitForInteractiveAsync();

        await Page.GetByRole(AriaRole.Button, new() { Name = "Add users" }).ClickAsync();
        var add = Page.GetByRole(AriaRole.Dialog);
        await Expect(add).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("mud-dialog-fullscreen"));
        await add.GetByText("Paste CSV or TSV lines").ClickAsync();
        await add.GetByLabel("Lines to add").FillAsync($"{tag}-p1,{tag}-org,gpt-4o\n{tag}-p2,{tag}-org,gpt-4o");
        // Left first, so the field's change on blur reaches the circuit before the click. A click that itself blurred the
        // field was not acted on in about 1 of 5 runs under CPU load (button enabled, text still there 4 s later); 0 of 6
        // once the field is left first. The cause in the field or the button is not found yet.
        await add.GetByLabel("Lines to add").BlurAsync();
        // The button turns enabled once the circuit has the pasted text; under load that round trip can lag the fill.
        var addPasted = add.GetByRole(AriaRole.Button, new() { Name = "Add pasted lines" });
        await Expect(addPasted).ToBeEnabledAsync();
        await addPasted.ClickAsync();
        await Expect(add.GetByLabel("User ID (row 2)")).ToHaveValueAsync($"{tag}-p2");
        Assert.True((await add.GetByLabel("User ID (row 1)").BoundingBoxAsync())!.Width > 200, "each draft row's fields stack at full width");
        var create = add.GetByRole(AriaRole.Button, new() { Name = "Create 2 users" });
        await Expect(create).ToBeInViewportAsync();
        await Infrastructure.Screenshots.SaveAsync(Page, "add-users-phone");
        await create.ClickAsync();
        await Expect(add.GetByText("2 users created.")).ToBeVisibleAsync();
        Assert.Equal(2, App.LiteLlm.GetKeys().Count(k => k.KeyAlias is { } alias && alias.StartsWith($"{tag}-p", StringComparison.Ordinal)));
    }

    /// <summary>A user whose ID and organisation are long and who holds every model, so the row is as wide as rows get.</summary>
    private async Task<(string Tag, string Id)> UserWithLongValuesAsync()
    {
        var tag = "lay" + Guid.NewGuid().ToString("N")[..8];
        var id = $"{tag}-a-rather-long-user-id-from-a-directory";
        await App.Service<UserService>().CreateAsync(
            new CreateUsersRequest([new NewUserRequest(id, $"{tag}-organisation", AllModels, ["billing", "search"], "a note an admin left")]),
            new Actor("e2e-fixture", null, null), CancellationToken.None);
        return (tag, id);
    }

    private async Task ExpectNoSidewaysScrollAsync()
    {
        Assert.True(await Page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"),
            "the page scrolls sideways");
        Assert.True(await Page.EvaluateAsync<bool>("() => [...document.querySelectorAll('[data-testid=users-grid] .mud-table-container')].every(c => c.scrollWidth <= c.clientWidth)"),
            "the users grid scrolls sideways");
    }
}
