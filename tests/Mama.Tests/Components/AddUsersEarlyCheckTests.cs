using AngleSharp.Dom;
using Bunit;
using Mama.Audit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>Add users asks the server which IDs are taken while the admin works, marks them on their rows and keeps Create disabled.</summary>
public sealed class AddUsersEarlyCheckTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("en", "Add pasted lines", "Row 3: User ID \"{0}\" already exists.")]
    [InlineData("ko", "붙여넣은 줄 추가", "3행: 사용자 ID \"{0}\"은(는) 이미 있습니다.")]
    public async Task AnIdThatExistsIsMarkedOnItsRowNumberedAsTheAdminSeesItAndCreateIsDisabled(string culture, string addPasted, string expected)
    {
        var kim = UserTestData.NewId("kim");
        await CreateThroughServiceAsync(new NewUserRequest(kim, "acme", ["gpt-4o"], [], ""));
        await using var ui = new UiTest(app, culture: culture);
        var dialog = await OpenAsync(ui);

        Paste(dialog, addPasted, $"{UserTestData.NewId()},acme,gpt-4o\n{UserTestData.NewId()},acme,gpt-4o\n{kim},acme,gpt-4o");

        dialog.WaitForAssertion(() => Assert.Equal(string.Format(expected, kim), Assert.Single(dialog.FindAll("[data-testid=row-problems] [role=alert]")).TextContent), Wait);
        var rows = dialog.FindAll("[data-testid=draft-row]");
        Assert.Equal([false, false, true], rows.Select(r => r.QuerySelector(".mud-input-error") is not null));
        Assert.Contains(string.Format(expected, kim).Split(": ", 2)[1], rows[2].TextContent);
        Assert.True(CreateButton(dialog).HasAttribute("disabled"));
    }

    [Fact]
    public async Task AnIdTakenAfterTheLastCheckIsFoundJustBeforeCreateAndNothingIsCreated()
    {
        var tag = "org-" + Guid.NewGuid().ToString("N")[..10];
        string first = UserTestData.NewId(), late = UserTestData.NewId();
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui);
        Paste(dialog, "Add pasted lines", $"{first},{tag},gpt-4o\n{late},{tag},gpt-4o");
        dialog.WaitForAssertion(() => Assert.False(CreateButton(dialog).HasAttribute("disabled")), Wait);

        await CreateThroughServiceAsync(new NewUserRequest(late, "someone-else", ["gpt-4o"], [], ""));
        dialog.Act(() => CreateButton(dialog).Click());

        dialog.WaitForAssertion(() => Assert.Equal($"Row 2: User ID \"{late}\" already exists.",
            Assert.Single(dialog.FindAll("[data-testid=row-problems] [role=alert]")).TextContent), Wait);
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => u.Organization == tag));
    }

    [Fact]
    public async Task AProblemOnlyTheServerSeesIsShownOnTheFieldOfItsRow()
    {
        var key = "sk-" + Guid.NewGuid().ToString("N");
        await CreateThroughServiceAsync(new NewUserRequest(UserTestData.NewId(), "acme", ["gpt-4o"], [], "", key));
        var newcomer = UserTestData.NewId();
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui);
        Paste(dialog, "Add pasted lines", $"{newcomer},acme,gpt-4o,,,{key}");
        dialog.WaitForAssertion(() => Assert.False(CreateButton(dialog).HasAttribute("disabled")), Wait);

        dialog.Act(() => CreateButton(dialog).Click());

        dialog.WaitForAssertion(() =>
        {
            var keyField = dialog.FindComponents<MudTextField<string>>().Single(f => f.Instance.Label == "Existing key (row 1)");
            Assert.Equal("Another user already has this key.", keyField.Find(".mud-input-helper-text.mud-input-error").TextContent.Trim());
        }, Wait);
        Assert.DoesNotContain(key, dialog.Markup.Replace($"value=\"{key}\"", ""));
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => u.UserId == newcomer));
    }

    private async Task CreateThroughServiceAsync(NewUserRequest row) =>
        await app.Service<UserService>().CreateAsync(new CreateUsersRequest([row]), new Actor("admin", null, null), CancellationToken.None);

    internal static async Task<IRenderedComponent<IComponent>> OpenAsync(UiTest ui)
    {
        var dialogs = ui.Services.GetRequiredService<IDialogService>();
        await ui.Providers.InvokeAsync(() => dialogs.ShowAsync<AddUsersDialog>("Add users", new DialogOptions { MaxWidth = MaxWidth.ExtraLarge, FullWidth = true }));
        ui.Providers.WaitForAssertion(() => Assert.NotEmpty(ui.Providers.FindAll("textarea")), Wait);
        return ui.Providers;
    }

    private static void Paste(IRenderedComponent<IComponent> dialog, string addPasted, string lines)
    {
        dialog.Act(() => dialog.Find("textarea").Input(lines));
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent.Contains(addPasted)).Click());
    }

    private static IElement CreateButton(IRenderedComponent<IComponent> dialog) => dialog.FindAll(".mud-dialog-actions button").Last();
}
