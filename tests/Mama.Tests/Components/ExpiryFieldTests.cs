using Bunit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>The key end field (UTC) of the Add users and Edit dialogs.</summary>
public sealed class ExpiryFieldTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private const string Label = "Key expires (UTC)";

    [Fact]
    public async Task AddUsersGivesEveryRowTheEndDateOfTheField()
    {
        var ids = new[] { UserTestData.NewId(), UserTestData.NewId() };
        await using var ui = new UiTest(app);
        var page = ui.Render<UsersPage>();
        page.WaitForAssertion(() => Assert.Contains(page.FindAll("button"), b => b.TextContent == "Add users"), Wait);
        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Add users").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("textarea")), Wait);

        dialog.Act(() => dialog.Find("textarea").Input(string.Join("\n", ids.Select(id => $"{id},acme,gpt-4o"))));
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent.Contains("Add pasted lines")).Click());
        dialog.Act(() => Field(dialog).Find("input").Change("2031-02-03T04:05"));
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent == "Create 2 users").Click());

        dialog.WaitForAssertion(() => Assert.Contains("2 users created.", dialog.Find("[role=status]").TextContent), Wait);
        await using var db = app.NewDbContext();
        var ends = await db.KeyUsers.Where(u => ids.Contains(u.UserId)).Select(u => u.ExpiresAt).ToListAsync(Xunit.TestContext.Current.CancellationToken);
        Assert.Equal([new DateTimeOffset(2031, 2, 3, 4, 5, 0, TimeSpan.Zero), new DateTimeOffset(2031, 2, 3, 4, 5, 0, TimeSpan.Zero)], ends);
    }

    [Fact]
    public async Task TheEditDialogShowsTheEndDateMovesItAndClearsIt()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        await admin.CreateUsersAsync([new { user_id = id, allowed_models = new[] { "gpt-4o" }, expires_at = new DateTimeOffset(2031, 2, 3, 4, 5, 6, TimeSpan.Zero) }]);
        await using var ui = new UiTest(app);

        var dialog = await OpenAsync(ui, id);
        Assert.Equal("2031-02-03T04:05", Field(dialog).Find("input").GetAttribute("value"));
        dialog.Act(() => Field(dialog).Find("input").Change("2032-01-01T00:00"));
        SaveAndWaitClosed(dialog);
        Assert.Equal(new DateTimeOffset(2032, 1, 1, 0, 0, 0, TimeSpan.Zero), await ExpiresAtAsync(id));

        dialog = await OpenAsync(ui, id);
        dialog.Act(() => Field(dialog).Find("input").Change(""));
        SaveAndWaitClosed(dialog);
        Assert.Null(await ExpiresAtAsync(id));
    }

    private static IRenderedComponent<MudTextField<string>> Field(IRenderedComponent<IComponent> dialog) =>
        dialog.FindComponents<MudTextField<string>>().Single(f => f.Instance.Label == Label);

    private static async Task<IRenderedComponent<IComponent>> OpenAsync(UiTest ui, string userId)
    {
        var page = await UsersPageTests.SearchAsync(ui, userId, expectedRows: 1);
        page.Act(() => page.Find("[data-testid=users-grid] tbody tr.mud-table-row td:nth-child(2)").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.Contains(dialog.FindComponents<MudTextField<string>>(), f => f.Instance.Label == Label), Wait);
        return dialog;
    }

    private static void SaveAndWaitClosed(IRenderedComponent<IComponent> dialog)
    {
        dialog.Act(() => dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Save").Click());
        dialog.WaitForAssertion(() => Assert.Empty(dialog.FindAll(".mud-dialog")), Wait);
    }

    private async Task<DateTimeOffset?> ExpiresAtAsync(string userId)
    {
        await using var db = app.NewDbContext();
        return (await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == userId)).ExpiresAt;
    }
}
