using AngleSharp.Dom;
using Bunit;
using Mama.Components.Pages.Users;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>The users page and its dialogs on the real UserService, database and LiteLLM emulator.</summary>
public sealed class UsersPageTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30); // generous: the full suite loads both cores

    [Fact]
    public async Task TheHeadingIsInTheChosenLanguage()
    {
        await using var ko = new UiTest(app, culture: "ko");
        var page = ko.Render<UsersPage>();
        Assert.Equal("사용자", page.Find("h1").TextContent);
        Assert.Contains(page.FindAll("button"), b => b.TextContent.Contains("사용자 추가"));
    }

    [Fact]
    public async Task ClickingTheOrganisationHeaderSortsByOrganisationThenReversesIt()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(new[] { "c", "a", "b" }.Select(o => UserTestData.Row(UserTestData.NewId(), $"{tag}-{o}")));
        await using var ui = new UiTest(app);
        var page = await SearchAsync(ui, tag, expectedRows: 3, typed: true);

        page.Act(() => HeaderButton(page, "Organisation").Click());
        page.WaitForAssertion(() => Assert.Equal([$"{tag}-a", $"{tag}-b", $"{tag}-c"], Column(page, 2)), Wait);
        page.Act(() => HeaderButton(page, "Organisation").Click());
        page.WaitForAssertion(() => Assert.Equal([$"{tag}-c", $"{tag}-b", $"{tag}-a"], Column(page, 2)), Wait);
    }

    [Fact]
    public async Task TickingRowsThePageAndAllMatchingSelectsThemAndClearingEmptiesTheSelection()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(Enumerable.Range(0, 30).Select(_ => UserTestData.Row(UserTestData.NewId(), tag)));
        await using var ui = new UiTest(app);
        var page = await SearchAsync(ui, tag, expectedRows: 25); // the first page of 30

        page.Act(() => RowCheckbox(page, 3).Change(true));
        page.Act(() => RowCheckbox(page, 4).Change(true));
        page.WaitForAssertion(() => Assert.Equal("2 selected.", Banner(page)), Wait);

        page.Act(() => page.Find("th input[type=checkbox]").Change(true)); // the whole page
        page.WaitForAssertion(() => Assert.Equal("25 selected.", Banner(page)), Wait);
        page.WaitForAssertion(() => Assert.Contains("Select all 30 matching", page.Find("[data-testid=selection-banner]").TextContent), Wait);
        page.Act(() => page.FindAll("[data-testid=selection-banner] button").Single(b => b.TextContent.Contains("Select all 30 matching")).Click());
        page.WaitForAssertion(() => Assert.Equal("All 30 matching users are selected.", Banner(page)), Wait);

        page.Act(() => RowCheckbox(page, 0).Change(false)); // leaves "all matching": the rest of the page stays selected
        page.WaitForAssertion(() => Assert.Equal("24 selected.", Banner(page)), Wait);
        page.Act(() => page.FindAll("[data-testid=selection-banner] button").Single(b => b.TextContent.Contains("Clear selection")).Click());
        page.WaitForAssertion(() => Assert.Empty(page.FindAll("[data-testid=selection-banner]")), Wait);
    }

    private static string Banner(IRenderedComponent<UsersPage> page) => page.Find("[data-testid=selection-banner] [role=status]").TextContent.Trim();

    [Fact]
    public async Task AModelTheProxyNoLongerServesIsRedAndAllTeamModelsStandsOut()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([UserTestData.Row(UserTestData.NewId(), tag, ["gpt-4o", "retired-model", "all-team-models"])], allowUnknownModels: true);
        await using var ui = new UiTest(app);
        var page = await SearchAsync(ui, tag, expectedRows: 1);

        // The proxy's model list may arrive after the rows: the chip turns red then.
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-unavailable=true]")), Wait);
        var red = page.FindAll("[data-unavailable=true]");
        Assert.Equal("retired-model", Assert.Single(red).GetAttribute("data-model"));
        Assert.Contains("mud-chip-color-error", red[0].ClassName);
        Assert.Equal("all-team-models", Assert.Single(page.FindAll("[data-special=true]")).GetAttribute("data-model"));
        Assert.DoesNotContain("mud-chip-color-error", page.Find("[data-model=gpt-4o]").ClassName);
    }

    [Fact]
    public async Task ALongModelListShowsTwoChipsAndACountNamingTheRestRedWhenOneOfThemIsRetired()
    {
        var tag = Tag();
        string[] models = ["gpt-4o", "claude-sonnet-4", "retired-a", "retired-b", "retired-c"];
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([UserTestData.Row(UserTestData.NewId(), tag, models)], allowUnknownModels: true);
        await using var ui = new UiTest(app);
        var page = await SearchAsync(ui, tag, expectedRows: 1);

        var shown = page.FindAll("[data-model]").Select(c => c.GetAttribute("data-model")!).ToList();
        Assert.Equal(2, shown.Count);
        var more = page.Find("[data-testid=more-models]");
        Assert.Equal("+3", more.TextContent.Trim());
        Assert.Equal($"3 more: {string.Join(", ", models.Except(shown))}", more.GetAttribute("aria-label"));
        Assert.Equal(shown.Count(s => s.StartsWith("retired")) < 3, more.ClassName!.Contains("mud-chip-color-error"));
    }

    [Fact]
    public async Task ASyncErrorShowsOnTheRowAsAnIconCarryingTheReasonAndTheKeyMenuHoldsCopyAndReveal()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, organization: tag))[0];
        await using (var db = app.NewDbContext())
        {
            var user = await db.KeyUsers.SingleAsync(u => u.UserId == id);
            user.SyncState = SyncState.Error;
            user.SyncError = "LiteLLM said: budget exceeded";
            user.NextSyncAt = DateTimeOffset.UtcNow.AddDays(1); // the reconciler leaves it as set
            await db.SaveChangesAsync();
        }
        await using var ui = new UiTest(app);
        var page = await SearchAsync(ui, tag, expectedRows: 1);

        Assert.Equal("LiteLLM said: budget exceeded", page.Find("[data-testid=sync] [data-testid=sync-error]").GetAttribute("aria-label"));
        Assert.Single(page.FindAll("[data-testid=key-menu] button"));
        page.Act(() => page.Find("[data-testid=key-menu] button").Click());
        ui.Providers.WaitForAssertion(() => Assert.Equal(["Copy key", "Reveal key"],
            ui.Providers.FindAll(".mud-popover-open .mud-menu-item").Select(i => i.TextContent.Trim())), Wait);
    }

    [Fact]
    public async Task AddUsersFromPastedLinesCreatesThemAllAndListsEachOutcome()
    {
        var tag = Tag();
        var ids = Enumerable.Range(0, 3).Select(_ => UserTestData.NewId()).ToList();
        await using var ui = new UiTest(app);
        var page = await LoadedAsync(ui);
        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Add users").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("textarea")), Wait);

        dialog.Act(() => dialog.Find("textarea").Input(string.Join("\n", ids.Select(id => $"{id},{tag},gpt-4o;claude-sonnet-4,billing,from a paste"))));
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent.Contains("Add pasted lines")).Click());
        dialog.WaitForAssertion(() => Assert.Equal(3, dialog.FindAll("[data-testid=draft-row]").Count), Wait);
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent == "Create 3 users").Click());

        dialog.WaitForAssertion(() => Assert.Contains("3 users created.", dialog.Find("[role=status]").TextContent), Wait);
        Assert.Equal(3, dialog.FindAll("[data-testid=sync-outcomes] tbody tr").Count);
        await using var db = app.NewDbContext();
        Assert.Equal(3, await db.KeyUsers.CountAsync(u => u.Organization == tag));
        Assert.All(ids, id => Assert.Equal(["claude-sonnet-4", "gpt-4o"], app.LiteLlm.FindKeyByAlias(id)!.Models.Order()));
    }

    [Fact]
    public async Task KoreanUsersWithSpacesArePastedCreatedFoundByAKoreanSearchAndExported()
    {
        var tag = new string(Enumerable.Range(0, 4).Select(_ => (char)Random.Shared.Next(0xAC00, 0xD7A4)).ToArray());
        string kim = $"김 민지 {tag}", hong = $"홍길동 {tag}";
        await using var ui = new UiTest(app);
        ui.JSInterop.SetupVoid("mama.download", _ => true).SetVoidResult();
        var page = await LoadedAsync(ui);
        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Add users").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("textarea")), Wait);

        // The second line decomposed (NFD), as some systems write Hangul: it is created composed.
        dialog.Act(() => dialog.Find("textarea").Input($"\"{kim}\",개발팀,gpt-4o\n{hong.Normalize(System.Text.NormalizationForm.FormD)},개발팀,gpt-4o"));
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent.Contains("Add pasted lines")).Click());
        dialog.WaitForAssertion(() => Assert.Equal(2, dialog.FindAll("[data-testid=draft-row]").Count), Wait);
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent == "Create 2 users").Click());
        dialog.WaitForAssertion(() => Assert.Contains("2 users created.", dialog.Find("[role=status]").TextContent), Wait);
        Assert.NotNull(app.LiteLlm.FindKeyByAlias(kim));
        Assert.NotNull(app.LiteLlm.FindKeyByAlias(hong));

        await using var search = new UiTest(app);
        search.JSInterop.SetupVoid("mama.download", _ => true).SetVoidResult();
        var found = await SearchAsync(search, "민지 " + tag, expectedRows: 1, typed: true);
        Assert.Equal([kim], Column(found, 1));
        found.Act(() => found.FindAll("button").Single(b => b.TextContent == "Export CSV").Click());
        found.WaitForAssertion(() => Assert.Single(search.JSInterop.Invocations["mama.download"]), Wait);
        var csv = (string)search.JSInterop.Invocations["mama.download"].Single().Arguments[2]!;
        Assert.StartsWith(kim + ",개발팀,gpt-4o,", csv.Split("\r\n")[1]);
    }

    [Fact]
    public async Task AddUsersChecksEachRowBeforeSubmittingAndCreatesNothingWhileOneIsWrong()
    {
        var tag = Tag();
        var good = UserTestData.NewId();
        // The page reads the proxy's model list once, when it opens; fetched here first, it comes from the catalog's
        // cache even when the proxy answers slowly under the whole suite's load (the page then checks no model at all).
        await MamaApp.EventuallyAsync(async () =>
        {
            try
            {
                return (await app.Service<Mama.LiteLlm.ModelCatalog>().GetAsync(CancellationToken.None)).Models.Count > 0;
            }
            catch (Exception)
            {
                return false;
            }
        }, "the proxy's model list is known");
        await using var ui = new UiTest(app);
        var page = await LoadedAsync(ui);
        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Add users").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("textarea")), Wait);

        dialog.Act(() => dialog.Find("textarea").Input($"{good},{tag},gpt-4o\nnot valid!,{tag},no-such-model\n{good},{tag},gpt-4o"));
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent.Contains("Add pasted lines")).Click());

        dialog.WaitForAssertion(() =>
        {
            var alerts = dialog.FindAll("[role=alert]").Select(a => a.TextContent).ToList();
            Assert.Contains(alerts, a => a.Contains("Row 2") && a.Contains("\"not valid!\" is not a valid user ID") && a.Contains("does not serve \"no-such-model\""));
            Assert.Contains(alerts, a => a.Contains("Row 3") && a.Contains("appears more than once"));
        }, Wait);
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent == "Create 3 users").Click());
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => u.Organization == tag));
    }

    [Fact]
    public async Task EditSelectedPreviewsAddAndRemoveAndLeavesDatabaseAndProxyInAgreement()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3, models: ["gpt-4o"], services: ["billing"], organization: tag);
        await admin.EditAsync([ids[0]], services: new { mode = "add", values = new[] { "search" } });
        await using var ui = new UiTest(app);
        var page = await SearchAsync(ui, tag, expectedRows: 3);
        page.Act(() => page.Find("th input[type=checkbox]").Change(true));
        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Edit selected").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=edit-services]")), Wait);

        // Services: add "search" — one user has it already.
        dialog.Act(() => Radio(dialog, "edit-services", "Add").Click());
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=edit-services] textarea")), Wait);
        dialog.Act(() => dialog.Find("[data-testid=edit-services] textarea").Input("search"));
        dialog.WaitForAssertion(() => Assert.Equal("2 of 3 users will change (services for 2); 1 unchanged.", Preview(dialog)), Wait);

        // Models: remove gpt-4o from all three as well — their last model, so their keys get blocked.
        dialog.Act(() => Radio(dialog, "edit-models", "Remove").Click());
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=edit-models] .mud-select")), Wait);
        // Picking in MudSelect's popover is MudBlazor's own behaviour (the browser tests click it); here the picked value drives the preview.
        var picker = dialog.FindComponents<MudSelect<string>>().Single(c => c.Instance.Label == "Allowed models");
        await picker.InvokeAsync(() => picker.Instance.SelectedValuesChanged.InvokeAsync(["gpt-4o"]));
        dialog.WaitForAssertion(() => Assert.Equal("3 of 3 users will change (models for 3, services for 2); 0 unchanged.", Preview(dialog)), Wait);

        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent == "Apply").Click());
        dialog.WaitForAssertion(() => Assert.Contains("3 changed, 0 unchanged.", dialog.Find("[role=status]").TextContent), Wait);
        await using var db = app.NewDbContext();
        var users = await db.KeyUsers.Where(u => ids.Contains(u.UserId)).ToListAsync();
        Assert.All(users, u => Assert.Equal("", u.ModelNames));
        Assert.All(users, u => Assert.Equal("billing\nsearch", u.ServiceNames));
        Assert.All(ids, id => Assert.True(app.LiteLlm.FindKeyByAlias(id)!.Blocked));
    }

    [Fact]
    public async Task DeleteSelectedNamesTheUsersAndRemovesTheirKeys()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(2, organization: tag);
        await using var ui = new UiTest(app);
        var page = await SearchAsync(ui, tag, expectedRows: 2);
        page.Act(() => page.Find("th input[type=checkbox]").Change(true));
        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Delete selected").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.Equal(ids.Order(), dialog.FindAll("[data-testid=delete-names] .mud-list-item").Select(i => i.TextContent.Trim()).Order()), Wait);

        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent == "Delete 2 users").Click());
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=sync-outcomes]")), Wait);
        Assert.All(ids, id => Assert.Null(app.LiteLlm.FindKeyByAlias(id)));
    }

    [Fact]
    public async Task AnUnexpectedFailureIsSaidInWordsAndThePageKeepsWorking()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, organization: tag))[0];
        await using var ui = new UiTest(app);
        ui.JSInterop.Setup<bool>("mama.copy", _ => true).SetException(new Microsoft.JSInterop.JSException("navigator.clipboard is undefined"));
        var page = await SearchAsync(ui, tag, expectedRows: 1);

        KeyMenuItem(ui, page, $"Copy the key of {id}");
        ui.Providers.WaitForAssertion(() => Assert.Contains("An unexpected error occurred;", ui.Providers.Find(".mud-snackbar").TextContent), Wait);

        // The page keeps working: its circuit still handles the next action (ticking the row enables the batch actions).
        page.Act(() => RowCheckbox(page, 0).Change(true));
        page.WaitForAssertion(() => Assert.False(page.FindAll("button").Single(b => b.TextContent == "Delete selected").HasAttribute("disabled")), Wait);
    }

    [Theory]
    [InlineData("u1,acme,gpt-4o;claude,billing|search,note", "u1", "acme", "claude gpt-4o", "billing, search", "note")]
    [InlineData("u2\tbeta\tgpt-4o\t\t", "u2", "beta", "gpt-4o", "", "")]
    [InlineData("\"u3\",\"Acme, Inc.\",,,\"says \"\"hi\"\"\"", "u3", "Acme, Inc.", "", "", "says \"hi\"")]
    public void PastedLinesBecomeRows(string line, string id, string organization, string models, string services, string extra)
    {
        var row = Assert.Single(UserDrafts.Parse("user_id,organization,models,services,extra_info\n" + line + "\n\n"));
        Assert.Equal((id, organization, models, services, extra), (row.UserId, row.Organization, string.Join(' ', row.Models.Order()), row.Services, row.ExtraInfo));
    }

    [Theory]
    [InlineData("replace", "gpt-4o", 2, 1)]               // the user with exactly gpt-4o is already as asked
    [InlineData("replace", "o1", 3, 0)]
    [InlineData("add", "gpt-4o", 1, 2)]                   // only the user without gpt-4o changes
    [InlineData("remove", "gpt-4o", 2, 1)]
    [InlineData("remove", "o1", 0, 3)]
    public void ThePreviewCountsTheUsersAReplaceAddOrRemoveWouldChange(string mode, string model, int changing, int unchanged)
    {
        UserResponse User(params string[] models) => new("u", "acme", "sk-…abcd", models, [], "", default, "t", default, "t", "synced", null, null);
        var users = new[] { User("gpt-4o"), User("gpt-4o", "claude"), User("claude") };

        var preview = BatchEdits.Preview(users, null, null, new SetEdit(SetEdit.ParseMode(mode)!.Value, [model]), null);

        Assert.Equal((3, changing, unchanged, changing, 0), (preview.Users, preview.Changing, preview.Unchanged, preview.ModelsChanging, preview.ServicesChanging));
    }

    private static string Tag() => "org-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>The page searching for the term: typed into the (debounced) search box, or given in the address.</summary>
    internal static async Task<IRenderedComponent<UsersPage>> SearchAsync(UiTest ui, string term, int expectedRows, bool typed = false)
    {
        IRenderedComponent<UsersPage> page;
        if (typed)
        {
            page = await LoadedAsync(ui);
            await page.Find("input[type=search]").InputAsync(new Microsoft.AspNetCore.Components.ChangeEventArgs { Value = term });
        }
        else
        {
            ui.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo("/users?search=" + Uri.EscapeDataString(term));
            page = ui.Render<UsersPage>();
        }
        page.WaitForAssertion(() =>
        {
            var rows = page.FindAll("[data-testid=users-grid] tbody tr.mud-table-row");
            Assert.Equal(expectedRows, rows.Count);
            Assert.All(rows, r => Assert.True(r.TextContent.Contains(term), System.Text.RegularExpressions.Regex.Replace(r.TextContent, @"\s+", " "))); // the filtered load, not the first one
        }, Wait);
        return page;
    }

    /// <summary>The page after its first server-data load (the grid shows rows or says there are none).</summary>
    private static Task<IRenderedComponent<UsersPage>> LoadedAsync(UiTest ui)
    {
        var page = ui.Render<UsersPage>();
        page.WaitForAssertion(() => Assert.True(page.FindAll("[data-testid=users-grid] tbody tr.mud-table-row").Count > 0 || page.FindAll("[data-testid=no-match], [data-testid=empty-state]").Count > 0), Wait);
        return Task.FromResult(page);
    }

    /// <summary>Opens the row's key menu (the only row on the page) and picks the item with this label.</summary>
    internal static void KeyMenuItem(UiTest ui, IRenderedComponent<UsersPage> page, string label)
    {
        // The activator toggles: a menu still closing from its last pick can swallow a click, so a bounded few tries.
        for (var attempt = 0; attempt < 4 && ui.Providers.FindAll($"[aria-label='{label}']").Count == 0; attempt++)
        {
            page.Act(() => page.Find("[data-testid=key-menu] button").Click());
            try { ui.Providers.WaitForAssertion(() => Assert.NotEmpty(ui.Providers.FindAll($"[aria-label='{label}']")), TimeSpan.FromSeconds(3)); }
            catch (Bunit.Extensions.WaitForHelpers.WaitForFailedException) { }
        }
        ui.Providers.Act(() => ui.Providers.Find($"[aria-label='{label}']").Click());
    }

    private static IElement HeaderButton(IRenderedComponent<UsersPage> page, string title) =>
        page.FindAll("th .sortable-column-header").Single(h => h.TextContent.Trim() == title);

    private static IElement RowCheckbox(IRenderedComponent<UsersPage> page, int row) =>
        page.FindAll("[data-testid=users-grid] tbody tr.mud-table-row")[row].QuerySelector("input[type=checkbox]")!;

    private static List<string> Column(IRenderedComponent<UsersPage> page, int column) =>
        page.FindAll("[data-testid=users-grid] tbody tr.mud-table-row").Select(r => r.QuerySelectorAll("td")[column].TextContent.Trim()).ToList();

    private static IElement Radio(IRenderedComponent<Microsoft.AspNetCore.Components.IComponent> dialog, string field, string label) =>
        dialog.FindAll($"[data-testid={field}] label.mud-radio").Single(l => l.TextContent.Trim() == label).QuerySelector("input")!;

    private static string Preview(IRenderedComponent<Microsoft.AspNetCore.Components.IComponent> dialog) =>
        dialog.Find("[data-testid=edit-preview] [role=status]").TextContent.Trim();
}
