using Bunit;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>A user whose alias the proxy holds under another key: the list shows the conflict and its dialog resolves it either way.</summary>
public abstract class KeyConflictDialogTests(MamaApp app)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TheListShowsTheConflictWithItsReasonAndTheDialogReplacesTheProxysKey()
    {
        var id = await ConflictedUserAsync(PlantedKeys.NewKey());
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, id, expectedRows: 1);
        page.WaitForAssertion(() =>
        {
            // The reason rides on the row's error icon (its tooltip and label), so the column stays narrow.
            var sync = page.Find("[data-testid=users-grid] tbody tr.mud-table-row [data-testid=sync]");
            Assert.Contains("conflict", sync.TextContent);
            Assert.Contains("another key under this alias", sync.QuerySelector("[data-testid=sync-error]")!.GetAttribute("aria-label"));
        }, Wait);
        var dialog = Open(ui, page);

        Click(dialog, "Replace the proxy's key");

        dialog.WaitForAssertion(() => Assert.Empty(dialog.FindAll(".mud-dialog")), Wait);
        var user = await UserAsync(id);
        Assert.Equal(SyncState.Synced, user.SyncState);
        Assert.Equal(user.KeyHash, Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == id).Token);
    }

    [Fact]
    public async Task TheDialogKeepsTheProxysKeyWhenItsValueIsPasted()
    {
        var planted = PlantedKeys.NewKey();
        var id = await ConflictedUserAsync(planted);
        await using var ui = new UiTest(app);
        var dialog = Open(ui, await UsersPageTests.SearchAsync(ui, id, expectedRows: 1));
        Assert.True(dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Keep the proxy's key").HasAttribute("disabled"));

        var field = dialog.FindComponents<MudTextField<string>>().Single(f => f.Instance.Label == "The proxy key's value (sk-…)");
        dialog.Act(() => field.Find("input").Input(planted));
        Click(dialog, "Keep the proxy's key");

        dialog.WaitForAssertion(() => Assert.Empty(dialog.FindAll(".mud-dialog")), Wait);
        var user = await UserAsync(id);
        Assert.Equal((SyncState.Synced, LiteLlmClient.HashKey(planted)), (user.SyncState, user.KeyHash));
        Assert.Equal(planted, Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == id).Key);
    }

    private async Task<string> ConflictedUserAsync(string planted)
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        await app.PlantAsync(id, planted);
        Assert.Equal(SyncOutcome.Conflict, (await admin.CreateUsersAsync([UserTestData.Row(id)])).Sync.Single().State);
        return id;
    }

    private static IRenderedComponent<IComponent> Open(UiTest ui, IRenderedComponent<Mama.Components.Pages.Users.UsersPage> page)
    {
        page.Act(() => page.Find("[data-testid=users-grid] tbody tr.mud-table-row td:nth-child(2)").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=key-conflict]")), Wait);
        return dialog;
    }

    private static void Click(IRenderedComponent<IComponent> dialog, string text) =>
        dialog.Act(() => dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == text).Click());

    private async Task<User> UserAsync(string id)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id);
    }
}

public sealed class KeyConflictDialogTestsOnSqlite(SqliteApp app) : KeyConflictDialogTests(app), IClassFixture<SqliteApp>;
public sealed class KeyConflictDialogTestsOnPostgres(PostgresApp app) : KeyConflictDialogTests(app), IClassFixture<PostgresApp>;
