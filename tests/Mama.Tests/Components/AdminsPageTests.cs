using Bunit;
using Mama.Components.Pages.Admins;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Components;

public sealed class AdminsPageTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task TheListShowsANewAdminAndDeletingThemAsksForAConfirmationThatNamesThem()
    {
        var (username, _, client) = await app.NewAdminAsync();
        client.Dispose();
        await using var ui = new UiTest(app);
        var page = ui.Render<AdminsPage>();
        page.WaitForAssertion(() => Assert.Equal(username, page.Find($"[data-testid='admin-{username}']").TextContent.Trim()));

        page.Find($"button[aria-label='Delete {username}']").Click();
        ui.Providers.WaitForAssertion(() => Assert.Contains($"Delete the admin {username}?", ui.Providers.Find(".mud-dialog").TextContent));
        Assert.Single(await AdminsNamedAsync(username)); // nothing happens before the confirmation
        ui.Providers.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Delete").Click();

        page.WaitForAssertion(() => Assert.Empty(page.FindAll($"[data-testid='admin-{username}']")));
        Assert.Empty(await AdminsNamedAsync(username));
        await using var db = app.NewDbContext();
        Assert.True(await db.AuditEvents.AnyAsync(e => e.Action == "admin.delete" && e.Actor == "admin" && e.Detail.Contains(username)));
    }

    [Fact]
    public async Task CreatingAnAdminInTheDialogAddsThemToTheListAsMustChangePassword()
    {
        var username = "ui-" + Guid.NewGuid().ToString("N")[..10];
        await using var ui = new UiTest(app);
        var page = ui.Render<AdminsPage>();
        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("[data-testid^='admin-']")));

        page.Find("[data-testid='create-admin']").Click();
        ui.Providers.WaitForAssertion(() => ui.Providers.Find("#new-admin-username"));
        ui.Providers.Find("#new-admin-username").Input(username);
        ui.Providers.Find("#new-admin-password").Input("a-long-enough-password");
        ui.Providers.Find("[data-testid='create-admin-save']").Click();

        page.WaitForAssertion(() => Assert.Contains("Yes", page.Find($"[data-testid='admin-{username}']").ParentElement!.TextContent));
        ui.Providers.WaitForAssertion(() => Assert.Empty(ui.Providers.FindAll(".mud-dialog")));
        Assert.Single(await AdminsNamedAsync(username));
    }

    [Fact]
    public async Task AWeakPasswordKeepsTheDialogOpenAndSaysWhy()
    {
        var (username, _, client) = await app.NewAdminAsync();
        client.Dispose();
        await using var ui = new UiTest(app);
        var page = ui.Render<AdminsPage>();
        page.WaitForAssertion(() => page.Find($"button[aria-label='Reset the password of {username}']").Click());

        ui.Providers.WaitForAssertion(() => ui.Providers.Find("#reset-password").Input("short"));
        ui.Providers.Find("[data-testid='reset-password-save']").Click();

        ui.Providers.WaitForAssertion(() => Assert.Contains("new_password", ui.Providers.Find(".mud-snackbar").TextContent));
        Assert.Single(ui.Providers.FindAll(".mud-dialog"));
    }

    [Fact]
    public async Task KoreanCultureGivesKoreanHeadingAndColumns()
    {
        await using var ko = new UiTest(app, culture: "ko");
        var page = ko.Render<AdminsPage>();
        Assert.Equal("관리자", page.Find("h1").TextContent);
        page.WaitForAssertion(() => Assert.Contains("사용자 이름", page.FindAll("th").Select(th => th.TextContent.Trim())));
    }

    private async Task<List<string>> AdminsNamedAsync(string username)
    {
        await using var db = app.NewDbContext();
        return await db.Users.Where(u => u.UserName == username).Select(u => u.UserName!).ToListAsync();
    }
}
