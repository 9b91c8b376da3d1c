using System.Globalization;
using AngleSharp.Dom;
using Bunit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>Deleting many users: above a hundred the admin types their number; the warning and the progress come before the names.</summary>
public sealed class DeleteUsersDialogTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AHundredUsersAreDeletedWithoutTypingTheirNumber()
    {
        await using var ui = new UiTest(app);
        var ids = Enumerable.Range(0, 100).Select(_ => UserTestData.NewId()).ToList();

        var dialog = await ShowAsync(ui, ids);

        Assert.Empty(dialog.FindAll("[data-testid=delete-confirm]"));
        Assert.False(DeleteButton(dialog, 100).HasAttribute("disabled"));
    }

    [Fact]
    public async Task AboveAHundredTheDeleteStaysDisabledUntilTheAdminTypesTheNumberThenDeletesThemAll()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(101, organization: UserTestData.NewId("del"));
        await using var ui = new UiTest(app);

        var dialog = await ShowAsync(ui, ids);

        // The warning and the confirmation come before the list of names.
        var text = dialog.Find(".mud-dialog").TextContent;
        Assert.True(text.IndexOf("Type 101 to confirm", StringComparison.Ordinal) < text.IndexOf(ids[0], StringComparison.Ordinal));
        Assert.True(DeleteButton(dialog, 101).HasAttribute("disabled"));
        Type(dialog, "100");
        Assert.True(DeleteButton(dialog, 101).HasAttribute("disabled"));
        DeleteButton(dialog, 101).Click(); // refused while the number is wrong
        await using (var db = app.NewDbContext())
            Assert.Equal(101, await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.DeletedAt == null));

        Type(dialog, "101");
        Assert.False(DeleteButton(dialog, 101).HasAttribute("disabled"));
        dialog.Act(() => DeleteButton(dialog, 101).Click());

        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return !await db.KeyUsers.AnyAsync(u => ids.Contains(u.UserId) && u.DeletedAt == null);
        }, "every user is deleted");
    }

    [Fact]
    public async Task DeletingMoreThanOneCallShowsTheCountFromTheStartAndMovesPerThousand()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = UserTestData.NewId("del");
        var ids = await admin.CreateUsersAsync(1000, organization: tag);
        ids.AddRange(await admin.CreateUsersAsync(1, organization: tag));
        await using var ui = new UiTest(app);
        var dialog = await ShowAsync(ui, ids);
        Type(dialog, "1001");
        using var first = new SaveGate(ids[0]);
        using var second = new SaveGate(ids[1000]);

        dialog.Act(() => DeleteButton(dialog, 1001).Click());

        await first.Reached.WaitAsync(Wait);
        Assert.Equal("0 of 1,001 users done…", dialog.Find("[data-testid=batch-progress-count]").TextContent.Trim());
        Assert.True(DeleteButton(dialog, 1001).HasAttribute("disabled"));
        first.Open();
        await second.Reached.WaitAsync(Wait);
        Assert.Equal("1,000 of 1,001 users done…", dialog.Find("[data-testid=batch-progress-count]").TextContent.Trim());
        Assert.Equal(100.0 * 1000 / 1001, double.Parse(dialog.Find("[data-testid=batch-progress] [role=progressbar]").GetAttribute("aria-valuenow")!, CultureInfo.InvariantCulture), 3);
        second.Open();

        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=sync-outcomes]")), Wait);
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => ids.Contains(u.UserId) && u.DeletedAt == null));
    }

    private static async Task<IRenderedComponent<IComponent>> ShowAsync(UiTest ui, IReadOnlyList<string> ids)
    {
        await ui.Providers.InvokeAsync(() => ui.Services.GetRequiredService<IDialogService>()
            .ShowAsync<DeleteUsersDialog>("Delete", new DialogParameters<DeleteUsersDialog> { { d => d.UserIds, ids } }));
        ui.Providers.WaitForAssertion(() => Assert.NotEmpty(ui.Providers.FindAll("[data-testid=delete-names]")), Wait);
        return ui.Providers;
    }

    private static IElement DeleteButton(IRenderedComponent<IComponent> dialog, int count) =>
        dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == $"Delete {count:N0} users");

    private static void Type(IRenderedComponent<IComponent> dialog, string text) =>
        dialog.Act(() => dialog.Find("[data-testid=delete-confirm] input").Input(text));
}
