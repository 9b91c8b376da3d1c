using System.Net;
using System.Net.Http.Json;
using Bunit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>The single-user edit dialog while other admins change the same user: it sends only what this admin changed.</summary>
public abstract class EditUserDialogTests(MamaApp app)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AModelAnotherAdminAddedWhileTheDialogWasOpenIsKeptWhenThisAdminRemovesAnother()
    {
        using var other = await app.SuperAdminAsync();
        var id = await CreateAsync(other, ["gpt-4o", "claude-sonnet-4"]);
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui, id);

        await other.EditAsync([id], models: new { mode = "add", values = new[] { "gpt-4o-mini" } });
        await PickModelsAsync(dialog, "gpt-4o");
        SaveAndWaitClosed(dialog);

        await AssertSavedAsync(id, u => Assert.Equal("gpt-4o\ngpt-4o-mini", u.ModelNames));
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(id)!.Models.Order().SequenceEqual(["gpt-4o", "gpt-4o-mini"])),
            "the proxy holds both admins' changes");
    }

    [Fact]
    public async Task WhenBothAdminsChangeTheOrganisationTheLaterSaveIsRefusedInWordsAndReloadShowsTheOtherValue()
    {
        using var other = await app.SuperAdminAsync();
        var id = await CreateAsync(other, ["gpt-4o"]);
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui, id);

        var patched = await other.PatchAsJsonAsync($"/api/v1/users/{id}", new { organization = "changed-by-b" });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        dialog.Act(() => Field(dialog, "Organisation").Find("input").Input("changed-by-a"));
        Click(dialog, "Save");

        dialog.WaitForAssertion(() => Assert.Equal(
            $"Someone else changed the organisation of '{id}' (now \"changed-by-b\") meanwhile. Nothing was saved; reload to see the current values.",
            dialog.Find("[data-testid=edit-conflict] [role=alert]").TextContent.Trim()), Wait);
        await AssertSavedAsync(id, u => Assert.Equal("changed-by-b", u.Organization));

        Click(dialog, "Reload");
        dialog.WaitForAssertion(() =>
        {
            Assert.Empty(dialog.FindAll("[data-testid=edit-conflict]"));
            Assert.Equal("changed-by-b", Field(dialog, "Organisation").Find("input").GetAttribute("value"));
        }, Wait);
        dialog.Act(() => Field(dialog, "Organisation").Find("input").Input("changed-by-a"));
        SaveAndWaitClosed(dialog);
        await AssertSavedAsync(id, u => Assert.Equal("changed-by-a", u.Organization));
    }

    [Fact]
    public async Task NamesHoldingCommasSemicolonsAndPipesSurviveASave()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        await admin.CreateUsersAsync([UserTestData.Row(id, "acme", ["gpt-4o", "team,a;b|c"], ["a,b", "c;d", "e|f"])], allowUnknownModels: true);
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui, id);

        dialog.Act(() => Field(dialog, "Allowed services").Find("textarea").Input("a,b\nc;d\ne|f\ng, h | i"));
        dialog.Act(() => Field(dialog, "Extra info").Find("textarea").Input("edited"));
        SaveAndWaitClosed(dialog);

        await AssertSavedAsync(id, u =>
        {
            Assert.Equal("gpt-4o\nteam,a;b|c", u.ModelNames);
            Assert.Equal("a,b\nc;d\ne|f\ng, h | i", u.ServiceNames);
            Assert.Equal("edited", u.ExtraInfo);
        });
    }

    [Fact]
    public async Task AModelTheProxyDoesNotServeIsRefusedUntilTheBoxIsTicked()
    {
        using var admin = await app.SuperAdminAsync();
        var id = await CreateAsync(admin, ["gpt-4o"]);
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui, id);

        await PickModelsAsync(dialog, "gpt-4o", "no-such-model");
        dialog.WaitForAssertion(() => Assert.Contains("The proxy does not serve: no-such-model.", dialog.Markup), Wait);
        Click(dialog, "Save");
        Assert.NotEmpty(dialog.FindAll("[data-testid=allow-unknown]")); // still open, nothing sent
        await AssertSavedAsync(id, u => Assert.Equal("gpt-4o", u.ModelNames));

        dialog.Act(() => dialog.Find("[data-testid=allow-unknown] input[type=checkbox]").Change(true));
        SaveAndWaitClosed(dialog);
        await AssertSavedAsync(id, u => Assert.Equal("gpt-4o\nno-such-model", u.ModelNames));
    }

    [Fact]
    public async Task AModelTheProxyStoppedServingAfterThePageLoadedIsRefusedByTheServerAndTheBoxIsOffered()
    {
        using var admin = await app.SuperAdminAsync();
        var id = await CreateAsync(admin, ["gpt-4o"]);
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui, id);
        var served = app.LiteLlm.ModelNames;
        app.LiteLlm.SetModels(served.Where(m => m != "claude-sonnet-4"));
        try
        {
            await PickModelsAsync(dialog, "gpt-4o", "claude-sonnet-4");
            Click(dialog, "Save");
            ui.Providers.WaitForAssertion(() => Assert.Contains("The proxy does not serve: claude-sonnet-4", ui.Providers.Markup), Wait);
            await AssertSavedAsync(id, u => Assert.Equal("gpt-4o", u.ModelNames));

            dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=allow-unknown]")), Wait);
            dialog.Act(() => dialog.Find("[data-testid=allow-unknown] input[type=checkbox]").Change(true));
            SaveAndWaitClosed(dialog);
            await AssertSavedAsync(id, u => Assert.Equal("claude-sonnet-4\ngpt-4o", u.ModelNames));
        }
        finally
        {
            app.LiteLlm.SetModels(served);
        }
    }

    private static async Task<string> CreateAsync(HttpClient admin, string[] models) =>
        (await admin.CreateUsersAsync(1, models: models, organization: "org-" + Guid.NewGuid().ToString("N")[..10]))[0];

    /// <summary>The users page searching for the user, and its edit dialog opened by clicking the row.</summary>
    private static async Task<IRenderedComponent<IComponent>> OpenAsync(UiTest ui, string userId)
    {
        var page = await UsersPageTests.SearchAsync(ui, userId, expectedRows: 1);
        page.Act(() => page.Find("[data-testid=users-grid] tbody tr.mud-table-row td:nth-child(2)").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.Contains(dialog.FindComponents<MudTextField<string>>(), f => f.Instance.Label == "Organisation"), Wait);
        return dialog;
    }

    private static IRenderedComponent<MudTextField<string>> Field(IRenderedComponent<IComponent> dialog, string label) =>
        dialog.FindComponents<MudTextField<string>>().Single(f => f.Instance.Label == label);

    // Picking in MudSelect's popover is MudBlazor's own behaviour (the browser tests click it); here the picked values drive the dialog.
    private static async Task PickModelsAsync(IRenderedComponent<IComponent> dialog, params string[] models)
    {
        var picker = dialog.FindComponents<MudSelect<string>>().Single(c => c.Instance.Label == "Allowed models");
        await picker.InvokeAsync(() => picker.Instance.SelectedValuesChanged.InvokeAsync(models));
    }

    private static void Click(IRenderedComponent<IComponent> dialog, string text) =>
        dialog.Act(() => dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == text).Click());

    private static void SaveAndWaitClosed(IRenderedComponent<IComponent> dialog)
    {
        Click(dialog, "Save");
        dialog.WaitForAssertion(() => Assert.Empty(dialog.FindAll(".mud-dialog")), Wait);
    }

    private async Task AssertSavedAsync(string userId, Action<Mama.Users.User> assert)
    {
        await using var db = app.NewDbContext();
        assert(await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == userId));
    }
}

public sealed class EditUserDialogTestsOnSqlite(SqliteApp app) : EditUserDialogTests(app), IClassFixture<SqliteApp>;

public sealed class EditUserDialogTestsOnPostgres(PostgresApp app) : EditUserDialogTests(app), IClassFixture<PostgresApp>;
