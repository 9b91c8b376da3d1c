using AngleSharp.Dom;
using Bunit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Mama.Tests.Components;

/// <summary>Editing many users at once: counts from the first second, one run per click, and a warning in words before keys get blocked.</summary>
public abstract class EditSelectedDialogTests(MamaApp app)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AServicesEditOf2500UsersShowsItsCountFromTheStartMovesPerThousandAndSaysTheProxyWasNotInvolved()
    {
        var selection = await CreateAsync(2500);
        await using var ui = new UiTest(app);
        var dialog = await ShowAsync(ui, selection);
        AddService(dialog, "search");
        dialog.WaitForAssertion(() => Assert.Equal("2,500 of 2,500 users will change (services for 2,500); 0 unchanged.", Preview(dialog)), Wait);
        using var first = new SaveGate(selection[0].UserId);
        using var second = new SaveGate(selection[1000].UserId);

        dialog.Act(() => Apply(dialog).Click());

        // The first call of 1,000 is held by the database: the count is there already, on a bar that is not spinning.
        await first.Reached.WaitAsync(Wait);
        Assert.Equal("0 of 2,500 users done…", Count(dialog));
        AssertBarAt(dialog, "0");
        Assert.True(Apply(dialog).HasAttribute("disabled"));
        first.Open();

        await second.Reached.WaitAsync(Wait);
        Assert.Equal("1,000 of 2,500 users done…", Count(dialog));
        AssertBarAt(dialog, "40");
        second.Open();

        dialog.WaitForAssertion(() => Assert.Equal("2,500 changed, 0 unchanged.", dialog.Find(".mud-dialog [role=status]").TextContent.Trim()), Wait);
        Assert.Equal("No key on the proxy needed a change: what changed is kept in mama alone.", dialog.Find("[data-testid=edit-no-proxy]").TextContent.Trim());
        Assert.Empty(dialog.FindAll("[data-testid=sync-outcomes]"));
        var ids = selection.Select(u => u.UserId).ToList();
        await using var db = app.NewDbContext();
        Assert.Equal(2500, await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.ServiceNames == "billing\nsearch"));
    }

    [Fact]
    public async Task ASecondClickOnApplyQueuedWhileTheEditRunsDoesNothing()
    {
        var selection = await CreateAsync(1001);
        await using var ui = new UiTest(app);
        var dialog = await ShowAsync(ui, selection);
        AddService(dialog, "search");
        dialog.WaitForAssertion(() => Assert.Equal("1,001 of 1,001 users will change (services for 1,001); 0 unchanged.", Preview(dialog)), Wait);
        using var gate = new SaveGate(selection[0].UserId);

        dialog.Act(() => Apply(dialog).Click());
        await gate.Reached.WaitAsync(Wait);
        Assert.True(Apply(dialog).HasAttribute("disabled"));
        // A click the browser sent before the button turned disabled: it waits for the first call to yield, then runs.
        var again = Task.Run(() => dialog.Act(() => Apply(dialog).Click()));
        gate.Open();
        await again.WaitAsync(Wait);

        dialog.WaitForAssertion(() => Assert.Equal("1,001 changed, 0 unchanged.", dialog.Find(".mud-dialog [role=status]").TextContent.Trim()), Wait);
        var needles = new[] { selection[0].UserId, selection[1000].UserId }.Select(Mama.Audit.AuditEvent.UserIdNeedle).ToList();
        await using var db = app.NewDbContext();
        var edits = await db.AuditEvents.Where(e => e.Action == "user.update").Select(e => e.UserIds).ToListAsync();
        Assert.Equal(2, edits.Count(e => needles.Any(e.Contains)));
    }

    [Theory]
    [InlineData("en", "2 users will have no model left, so mama blocks their keys: the proxy refuses every call made with them until a model is allowed again.")]
    [InlineData("ko", "사용자 2명에게 허용 모델이 하나도 남지 않아 mama가 이들의 키를 차단합니다. 모델을 다시 허용할 때까지 이 키로 보내는 모든 호출을 프록시가 거부합니다.")]
    public async Task ReplacingModelsWithNothingSaysInWordsThatTheKeysOfTheUsersWhoHaveModelsGetBlocked(string culture, string warning)
    {
        // Previewed only: these users need not exist until Apply.
        IReadOnlyList<UserResponse> selection = [User(["gpt-4o"]), User(["gpt-4o", "gpt-4o-mini"]), User([])];
        await using var ui = new UiTest(app, culture: culture);
        var dialog = await ShowAsync(ui, selection);
        Assert.Empty(dialog.FindAll("[data-testid=edit-blocks-keys]"));

        dialog.Act(() => Radio(dialog, "edit-models", culture == "ko" ? "바꾸기" : "Replace").Click());

        dialog.WaitForAssertion(() => Assert.Equal(warning, dialog.Find("[data-testid=edit-blocks-keys]").TextContent.Trim()), Wait);
        // Above the fields, with the preview: a long form never pushes it out of sight.
        Assert.Equal(["edit-preview", "edit-blocks-keys", "edit-models"],
            dialog.FindAll("[data-testid=edit-preview], [data-testid=edit-blocks-keys], [data-testid=edit-models]").Select(e => e.GetAttribute("data-testid")));
    }

    [Fact]
    public async Task AfterAModelEditTheOutcomeShowsEachUsersModelsWithTheOnesTheProxyNoLongerServesInRed()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = UserTestData.NewId("org");
        var selection = (await admin.CreateUsersAsync([UserTestData.Row(UserTestData.NewId(), tag, models: ["gpt-retired"])], allowUnknownModels: true)).Users;
        await using var ui = new UiTest(app);
        var dialog = await ShowAsync(ui, selection, served: new HashSet<string> { "gpt-4o", "gpt-4o-mini" });
        dialog.Act(() => Radio(dialog, "edit-models", "Add").Click());
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=edit-models] .mud-select")), Wait);
        var picker = dialog.FindComponents<MudSelect<string>>().Single(c => c.Instance.Label == "Allowed models");
        await picker.InvokeAsync(() => picker.Instance.SelectedValuesChanged.InvokeAsync(["gpt-4o"]));

        dialog.Act(() => Apply(dialog).Click());

        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=outcome-models]")), Wait);
        var chips = dialog.FindAll("[data-testid=outcome-models] [data-model]");
        Assert.Equal(["gpt-4o", "gpt-retired"], chips.Select(c => c.GetAttribute("data-model")));
        Assert.Equal([null, "true"], chips.Select(c => c.GetAttribute("data-unavailable")));
        Assert.Contains("mud-chip-color-error", chips[1].ClassName);
    }

    [Fact]
    public async Task WhileTheEditRunsNeitherAnOutsideClickNorEscapeClosesTheDialogOrAsksToDiscard()
    {
        var selection = await CreateAsync(1001);
        await using var ui = new UiTest(app);
        // As the users page opens it: an outside click is not meant to close this dialog at all.
        var reference = await ui.Providers.InvokeAsync(() => ui.Services.GetRequiredService<IDialogService>().ShowAsync<EditSelectedDialog>("Edit",
            new DialogParameters<EditSelectedDialog> { { d => d.Selection, selection }, { d => d.Models, ["gpt-4o"] } },
            new DialogOptions { BackdropClick = false }));
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=edit-services]")), Wait);
        AddService(dialog, "search");
        using var gate = new SaveGate(selection[0].UserId);
        dialog.Act(() => Apply(dialog).Click());
        await gate.Reached.WaitAsync(Wait);

        // Sent while the first call of 1,000 is held: they run between the two calls, while the edit is still running.
        var container = dialog.Find(".mud-dialog-container").Id!;
        var outside = Task.Run(() => dialog.Act(() => dialog.Find(".mud-overlay").Click()));
        var escape = Task.Run(() => dialog.Act(() => Radio(dialog, "edit-services", "Add").KeyDown(new KeyboardEventArgs { Key = "Escape" })));
        var mudEscape = Task.Run(() => dialog.InvokeAsync(() => ui.Services.GetRequiredService<IKeyInterceptorService>()
            .DispatchAsync(container, KeyEventKind.Down, new KeyboardEventArgs { Key = "Escape" })));
        gate.Open();
        await Task.WhenAll(outside, escape, mudEscape).WaitAsync(Wait);

        dialog.WaitForAssertion(() => Assert.Equal("1,001 changed, 0 unchanged.", dialog.Find(".mud-dialog [role=status]").TextContent.Trim()), Wait);
        Assert.DoesNotContain("Discard your changes?", dialog.Markup);
        Assert.False(reference.Result.IsCompleted);
        // Nor does an outside click dismiss the outcome: it stays until Close.
        dialog.Act(() => dialog.Find(".mud-overlay").Click());
        Assert.False(reference.Result.IsCompleted);
        Assert.Single(dialog.FindAll(".mud-dialog"));
    }

    [Fact]
    public async Task RemoveOffersARetiredModelTheSelectedUsersHoldMarkedUnavailable()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = UserTestData.NewId("org");
        var selection = (await admin.CreateUsersAsync([UserTestData.Row(UserTestData.NewId(), tag, models: ["gpt-4o", "gpt-retired"])], allowUnknownModels: true)).Users;
        await using var ui = new UiTest(app);
        var dialog = await ShowAsync(ui, selection, served: new HashSet<string> { "gpt-4o", "gpt-4o-mini" });
        dialog.Act(() => Radio(dialog, "edit-models", "Remove").Click());
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=edit-models] .mud-select")), Wait);
        var picker = dialog.FindComponents<MudSelect<string>>().Single(c => c.Instance.Label == "Allowed models");

        await picker.InvokeAsync(() => picker.Instance.OpenMenu());

        dialog.WaitForAssertion(() => Assert.Equal(["gpt-4o", "gpt-4o-mini", "gpt-retired"],
            dialog.FindAll("[data-model-option]").Select(o => o.GetAttribute("data-model-option"))), Wait);
        Assert.Equal(["gpt-retired"], dialog.FindAll("[data-model-option][data-unavailable=true]").Select(o => o.GetAttribute("data-model-option")));
    }

    private async Task<List<UserResponse>> CreateAsync(int count)
    {
        var tag = UserTestData.NewId("org");
        using var admin = await app.SuperAdminAsync();
        var users = new List<UserResponse>();
        foreach (var chunk in Enumerable.Range(0, count).Select(_ => UserTestData.NewId()).Chunk(1000))
            users.AddRange((await admin.CreateUsersAsync(chunk.Select(id => UserTestData.Row(id, tag, services: ["billing"])))).Users);
        return users;
    }

    private static UserResponse User(string[] models) =>
        new(UserTestData.NewId(), "acme", "sk-…abcd", models, ["billing"], "", DateTimeOffset.UtcNow, "admin", DateTimeOffset.UtcNow, "admin", "synced", null, null);

    private static async Task<IRenderedComponent<IComponent>> ShowAsync(UiTest ui, IReadOnlyList<UserResponse> selection, IReadOnlySet<string>? served = null)
    {
        await ui.Providers.InvokeAsync(() => ui.Services.GetRequiredService<IDialogService>().ShowAsync<EditSelectedDialog>("Edit",
            new DialogParameters<EditSelectedDialog> { { d => d.Selection, selection }, { d => d.Models, ["gpt-4o", "gpt-4o-mini"] }, { d => d.Served, served } }));
        ui.Providers.WaitForAssertion(() => Assert.NotEmpty(ui.Providers.FindAll("[data-testid=edit-services]")), Wait);
        return ui.Providers;
    }

    private static void AddService(IRenderedComponent<IComponent> dialog, string service)
    {
        dialog.Act(() => Radio(dialog, "edit-services", "Add").Click());
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=edit-services] textarea")), Wait);
        dialog.Act(() => dialog.Find("[data-testid=edit-services] textarea").Input(service));
    }

    private static void AssertBarAt(IRenderedComponent<IComponent> dialog, string percent)
    {
        var bar = dialog.Find("[data-testid=batch-progress] [role=progressbar]");
        Assert.Equal(percent, bar.GetAttribute("aria-valuenow"));
        Assert.DoesNotContain("indeterminate", bar.ClassName ?? "", StringComparison.Ordinal);
    }

    private static string Count(IRenderedComponent<IComponent> dialog) => dialog.Find("[data-testid=batch-progress-count]").TextContent.Trim();

    private static IElement Apply(IRenderedComponent<IComponent> dialog) =>
        dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Apply");

    private static IElement Radio(IRenderedComponent<IComponent> dialog, string field, string label) =>
        dialog.FindAll($"[data-testid={field}] label.mud-radio").Single(l => l.TextContent.Trim() == label).QuerySelector("input")!;

    private static string Preview(IRenderedComponent<IComponent> dialog) =>
        dialog.Find("[data-testid=edit-preview] [role=status]").TextContent.Trim();
}

public sealed class EditSelectedDialogTestsOnSqlite(SqliteApp app) : EditSelectedDialogTests(app), IClassFixture<SqliteApp>;

public sealed class EditSelectedDialogTestsOnPostgres(PostgresApp app) : EditSelectedDialogTests(app), IClassFixture<PostgresApp>;
