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

/// <summary>A value the server would refuse is marked on its own field, in the admin's language, and nothing is sent.</summary>
public sealed class FieldErrorsTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData("en", "Organisation", "At most 200 characters.")]
    [InlineData("ko", "조직", "200자까지 쓸 수 있습니다.")]
    public async Task AnOrganisationTooLongIsMarkedOnItsFieldAndSaveSendsNothing(string culture, string label, string expected)
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, models: ["gpt-4o"], organization: "before"))[0];
        await using var ui = new UiTest(app, culture: culture);
        var dialog = await OpenAsync(ui, id);

        dialog.Act(() => Field(dialog, label).Find("input").Input(new string('o', 201)));

        dialog.WaitForAssertion(() => Assert.Equal(expected, Field(dialog, label).Find(".mud-input-helper-text.mud-input-error").TextContent.Trim()), Wait);
        Assert.DoesNotContain(FieldsWithErrors(dialog), f => f.Instance.Label != label);
        dialog.Act(() => dialog.FindAll(".mud-dialog-actions button").Last().Click());
        Assert.Single(dialog.FindAll(".mud-dialog"));
        await using var db = app.NewDbContext();
        Assert.Equal("before", (await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id)).Organization);
    }

    [Fact]
    public async Task AnEmptyServiceNameIsMarkedOnTheServicesBox()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, models: ["gpt-4o"]))[0];
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui, id);

        dialog.Act(() => Field(dialog, "Allowed services").Find("textarea").Input("billing\nbad\u0007name"));

        dialog.WaitForAssertion(() => Assert.Equal("Must not contain control or invisible characters.",
            Field(dialog, "Allowed services").Find(".mud-input-helper-text.mud-input-error").TextContent.Trim()), Wait);
    }

    private async Task<IRenderedComponent<IComponent>> OpenAsync(UiTest ui, string userId)
    {
        var user = await app.Service<UserService>().GetAsync(userId, new Actor("admin", null, null), CancellationToken.None);
        var dialogs = ui.Services.GetRequiredService<IDialogService>();
        await ui.Providers.InvokeAsync(() => dialogs.ShowAsync<EditUserDialog>("Edit", new DialogParameters<EditUserDialog> { { d => d.User, user } }, new DialogOptions()));
        ui.Providers.WaitForAssertion(() => Assert.NotEmpty(ui.Providers.FindAll("[data-testid=edit-organization]")), Wait);
        return ui.Providers;
    }

    private static IRenderedComponent<MudTextField<string>> Field(IRenderedComponent<IComponent> dialog, string label) =>
        dialog.FindComponents<MudTextField<string>>().Single(f => f.Instance.Label == label);

    private static IEnumerable<IRenderedComponent<MudTextField<string>>> FieldsWithErrors(IRenderedComponent<IComponent> dialog) =>
        dialog.FindComponents<MudTextField<string>>().Where(f => f.FindAll(".mud-input-error").Count > 0);
}
