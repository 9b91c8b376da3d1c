using AngleSharp.Dom;
using Bunit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>The users page's filters: the selection they keep, unavailable models, the empty states, and red names in the model picker.</summary>
public sealed class UsersPageFilterTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ChangingTheFilterKeepsTheTickedUsersSaysHowManyAreHiddenAndEditSelectedStillTakesThemAll()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([
            UserTestData.Row($"{tag}-a1", "north"), UserTestData.Row($"{tag}-a2", "north"), UserTestData.Row($"{tag}-a3", "north"),
            UserTestData.Row($"{tag}-b1", "south"), UserTestData.Row($"{tag}-b2", "south"),
        ]);
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 5);
        foreach (var row in new[] { 0, 1, 2, 3 }) page.Act(() => RowCheckbox(page, row).Change(true));
        page.WaitForAssertion(() => Assert.Equal("4 selected.", Banner(page)), Wait);

        await page.Find("input[type=search]").InputAsync(new Microsoft.AspNetCore.Components.ChangeEventArgs { Value = $"{tag}-b" });

        page.WaitForAssertion(() => Assert.Equal([$"{tag}-b1", $"{tag}-b2"], Rows(page).Select(r => r.QuerySelectorAll("td")[1].TextContent.Trim())), Wait);
        page.WaitForAssertion(() => Assert.Equal(
            "4 selected. 3 selected users are hidden by the filter; actions still apply to all 4 selected.", Banner(page)), Wait);
        Assert.True(RowCheckbox(page, 0).IsChecked());
        Assert.False(RowCheckbox(page, 1).IsChecked());

        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Edit selected").Click());
        ui.Providers.WaitForAssertion(() => Assert.Contains("Edit 4 users", ui.Providers.Markup), Wait);
    }

    [Fact]
    public async Task OneHiddenTickedUserIsSaidInTheSingular()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([UserTestData.Row($"{tag}-a1", "north"), UserTestData.Row($"{tag}-b1", "south")]);
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 2);
        page.Act(() => RowCheckbox(page, 0).Change(true));
        page.Act(() => RowCheckbox(page, 1).Change(true));

        await page.Find("input[type=search]").InputAsync(new Microsoft.AspNetCore.Components.ChangeEventArgs { Value = $"{tag}-b" });

        page.WaitForAssertion(() => Assert.Equal("2 selected. 1 selected user is hidden by the filter; actions still apply to all 2 selected.", Banner(page)), Wait);
    }

    [Fact]
    public async Task TheUnavailableModelsEntryShowsOnlyUsersStillHoldingAModelTheProxyNoLongerServes()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([
            UserTestData.Row($"{tag}-old", tag, ["gpt-4o", "retired-" + tag]), UserTestData.Row($"{tag}-new", tag, ["gpt-4o"]),
            UserTestData.Row($"{tag}-all", tag, ["all-proxy-models"]),
        ], allowUnknownModels: true);
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 3);
        var filter = page.FindComponents<MudSelect<string>>().Single(c => c.Instance.Label == "Model");

        await filter.InvokeAsync(() => filter.Instance.OpenMenu());
        ui.Providers.WaitForAssertion(() => Assert.Contains("Unavailable models", ui.Providers.Find("[data-unavailable=true]").TextContent), Wait);
        await filter.InvokeAsync(() => filter.Instance.ValueChanged.InvokeAsync(UsersPage.UnavailableChoice));

        page.WaitForAssertion(() => Assert.Equal([$"{tag}-old"], Rows(page).Select(r => r.QuerySelectorAll("td")[1].TextContent.Trim())), Wait);
    }

    [Fact]
    public async Task WhenNoUserMatchesThePageSaysSoAndClearFiltersBringsTheUsersBack()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(1, organization: tag);
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 1);

        await page.Find("input[type=search]").InputAsync(new Microsoft.AspNetCore.Components.ChangeEventArgs { Value = "nobody-" + tag });
        page.WaitForAssertion(() => Assert.Contains("No users match the filters.", page.Find("[data-testid=no-match]").TextContent), Wait);
        Assert.Empty(page.FindAll("[data-testid=empty-state]"));
        page.Act(() => page.Find("[data-testid=no-match] button").Click());

        page.WaitForAssertion(() => Assert.NotEmpty(Rows(page)), Wait);
        Assert.Equal("", page.Find("input[type=search]").GetAttribute("value") ?? "");
    }

    [Fact]
    public async Task RowsCarryTheirUserForTheKeyboardScriptToNameAndFocusThem()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, organization: tag))[0];
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 1);

        var name = Rows(page)[0].QuerySelector("[data-row-name]")!;
        Assert.Equal($"Edit {id}", name.GetAttribute("data-row-name"));
        Assert.Equal(id, name.GetAttribute("data-user-id"));
        Assert.Contains(ui.JSInterop.Invocations, i => i.Identifier == "import" && (string?)i.Arguments[0] == "./Components/Pages/Users/UsersPage.razor.js");
    }

    [Fact]
    public async Task TheModelPickerShowsAModelTheProxyNoLongerServesInRedWithWordsSayingSo()
    {
        await using var ui = new UiTest(app);
        var field = ui.Render<SetEditField>(p => p
            .Add(f => f.Legend, "Allowed models")
            .Add(f => f.Choices, ["gpt-4o", "all-team-models", "retired-x"])
            .Add(f => f.Served, new HashSet<string>(["gpt-4o"], StringComparer.Ordinal))
            .Add(f => f.Mode, Mama.Users.SetEditMode.Remove)
            .Add(f => f.Values, ["retired-x", "gpt-4o"]));
        var picker = field.FindComponent<MudSelect<string>>();

        await picker.InvokeAsync(() => picker.Instance.OpenMenu());

        ui.Providers.WaitForAssertion(() => Assert.Equal(["all-team-models", "gpt-4o", "retired-x"],
            ui.Providers.FindAll("[data-model-option]").Select(o => o.GetAttribute("data-model-option"))), Wait);
        var red = Assert.Single(ui.Providers.FindAll("[data-unavailable=true]"));
        Assert.Equal("retired-x", red.GetAttribute("data-model-option"));
        Assert.Contains("mud-error-text", red.ClassName);
        Assert.Contains("(no longer served)", red.TextContent);
    }

    private static string Tag() => "flt-" + Guid.NewGuid().ToString("N")[..10];

    private static string Banner(IRenderedComponent<UsersPage> page) =>
        System.Text.RegularExpressions.Regex.Replace(page.Find("[data-testid=selection-banner] [role=status]").TextContent, @"\s+", " ").Trim();

    private static IReadOnlyList<IElement> Rows(IRenderedComponent<UsersPage> page) => page.FindAll("[data-testid=users-grid] tbody tr.mud-table-row");

    private static IElement RowCheckbox(IRenderedComponent<UsersPage> page, int row) => Rows(page)[row].QuerySelector("input[type=checkbox]")!;
}

/// <summary>A fresh install: no users at all, so the page invites the admin to add the first ones.</summary>
public sealed class UsersPageEmptyStateTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task AFreshInstallShowsNoUsersYetWithAButtonThatOpensAddUsers()
    {
        await using var ui = new UiTest(app);
        var page = ui.Render<UsersPage>();

        page.WaitForAssertion(() => Assert.Contains("No users yet", page.Find("[data-testid=empty-state]").TextContent), TimeSpan.FromSeconds(30));
        Assert.Empty(page.FindAll("[data-testid=no-match]"));
        page.Act(() => page.Find("[data-testid=empty-add]").Click());

        ui.Providers.WaitForAssertion(() => Assert.NotEmpty(ui.Providers.FindAll("[data-testid=draft-row]")), TimeSpan.FromSeconds(30));
    }
}
