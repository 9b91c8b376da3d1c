using Bunit;
using Mama.Components.Pages.Admins;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Mama.Tests.Components;

/// <summary>A dialog with unsaved input asks before Escape, an outside click or Cancel throws it away; one without closes at once.</summary>
public sealed class UnsavedChangesTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task EscapeWithoutChangesClosesAtOnce()
    {
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui);

        // MudBlazor's own Escape (its key interceptor on the dialog container), as the browser would send it.
        var container = ui.Providers.Find(".mud-dialog-container").Id!;
        await ui.Providers.InvokeAsync(() => ui.Services.GetRequiredService<IKeyInterceptorService>()
            .DispatchAsync(container, KeyEventKind.Down, new KeyboardEventArgs { Key = "Escape" }));

        Assert.True((await dialog.Reference.Result.WaitAsync(Wait))!.Canceled);
        Assert.Empty(ui.Providers.FindAll(".mud-dialog"));
    }

    [Fact]
    public async Task EscapeWithChangesAsksAndKeepEditingKeepsWhatWasTyped()
    {
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui);
        dialog.Act(() => dialog.Find("#new-admin-username").Input("half-typed"));
        var container = ui.Providers.Find(".mud-dialog-container").Id!;
        await ui.Providers.InvokeAsync(() => ui.Services.GetRequiredService<IKeyInterceptorService>()
            .DispatchAsync(container, KeyEventKind.Down, new KeyboardEventArgs { Key = "Escape" }));
        Assert.False(dialog.Reference.Result.IsCompleted); // MudBlazor's Escape is off while there are changes

        dialog.Act(() => dialog.Find("#new-admin-username").KeyDown(new KeyboardEventArgs { Key = "Escape" }));
        ui.Providers.WaitForAssertion(() => Assert.Contains("Discard your changes?", ui.Providers.Markup), Wait);
        dialog.Act(() => Button(ui, "Keep editing").Click());

        ui.Providers.WaitForAssertion(() => Assert.Single(ui.Providers.FindAll(".mud-dialog")), Wait);
        Assert.False(dialog.Reference.Result.IsCompleted);
        Assert.Equal("half-typed", ui.Providers.Find("#new-admin-username").GetAttribute("value"));
    }

    [Fact]
    public async Task CancelWithChangesAsksAndDiscardCloses()
    {
        await using var ui = new UiTest(app);
        var dialog = await OpenAsync(ui);
        dialog.Act(() => dialog.Find("#new-admin-username").Input("half-typed"));

        dialog.Act(() => Button(ui, "Cancel").Click());
        ui.Providers.WaitForAssertion(() => Assert.Contains("Discard your changes?", ui.Providers.Markup), Wait);
        dialog.Act(() => Button(ui, "Discard").Click());

        Assert.True((await dialog.Reference.Result.WaitAsync(Wait))!.Canceled);
        ui.Providers.WaitForAssertion(() => Assert.Empty(ui.Providers.FindAll(".mud-dialog")), Wait);
    }

    [Fact]
    public async Task AnOutsideClickWithChangesAsksInKorean()
    {
        await using var ui = new UiTest(app, culture: "ko");
        var dialog = await OpenAsync(ui);
        dialog.Act(() => dialog.Find("#new-admin-password").Input("secret-in-progress"));

        dialog.Act(() => ui.Providers.Find(".mud-overlay").Click());

        ui.Providers.WaitForAssertion(() => Assert.Contains("변경 내용을 버릴까요?", ui.Providers.Markup), Wait);
        Assert.NotNull(Button(ui, "계속 편집"));
        Assert.False(dialog.Reference.Result.IsCompleted);
    }

    private sealed record Opened(IRenderedComponent<IComponent> Providers, IDialogReference Reference)
    {
        public void Act(Action action) => Providers.Act(action);

        public AngleSharp.Dom.IElement Find(string selector) => Providers.Find(selector);
    }

    private static async Task<Opened> OpenAsync(UiTest ui)
    {
        var dialogs = ui.Services.GetRequiredService<IDialogService>();
        var reference = await ui.Providers.InvokeAsync(() => dialogs.ShowAsync<CreateAdminDialog>("Create admin", new DialogOptions { MaxWidth = MaxWidth.Small }));
        ui.Providers.WaitForAssertion(() => Assert.NotEmpty(ui.Providers.FindAll("#new-admin-username")), Wait);
        return new Opened(ui.Providers, reference);
    }

    private static AngleSharp.Dom.IElement Button(UiTest ui, string text) =>
        ui.Providers.FindAll("button").Last(b => b.TextContent.Trim() == text);
}
