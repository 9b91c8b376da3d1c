using System.Net;
using AngleSharp.Dom;
using Bunit;
using Mama.Components.Pages.Users;
using Mama.Rotation;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>Rotating keys from the users page: the grace choice, the typed confirmation for large selections, the badge and the filter.</summary>
public sealed class RotateKeysDialogTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(100, false)]
    [InlineData(101, true)]
    public async Task OnlyAboveAHundredUsersMustTheAdminTypeTheirNumber(int count, bool asked)
    {
        await using var ui = new UiTest(app);
        var ids = Enumerable.Range(0, count).Select(_ => UserTestData.NewId()).ToList();

        var dialog = await ShowAsync(ui, new DialogParameters<RotateKeysDialog> { { d => d.UserIds, ids } });

        Assert.Equal(asked, dialog.FindAll("[data-testid=rotate-confirm]").Count == 1);
        Assert.Equal(asked, RotateButton(dialog, count).HasAttribute("disabled"));
    }

    [Fact]
    public async Task ForAllMatchingAboveAHundredTheButtonStaysDisabledUntilTheTypedNumberMatchesAndThenTheRotationStarts()
    {
        var tag = "org-" + Guid.NewGuid().ToString("N")[..10];
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(Enumerable.Range(0, 101).Select(_ => UserTestData.Row(UserTestData.NewId(), tag)));
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 25);
        page.Act(() => page.Find("th input[type=checkbox]").Change(true));
        page.WaitForAssertion(() => Assert.Contains("Select all 101 matching", page.Find("[data-testid=selection-banner]").TextContent), Wait);
        page.Act(() => page.FindAll("[data-testid=selection-banner] button").Single(b => b.TextContent.Contains("Select all 101 matching")).Click());
        page.WaitForAssertion(() => Assert.Contains("All 101 matching users are selected.", page.Markup), Wait);

        page.Act(() => page.FindAll("button").Single(b => b.TextContent.Trim() == "Rotate keys").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.Equal("Rotate the keys of 101 users.", dialog.Find("[data-testid=rotate-summary]").TextContent.Trim()), Wait);
        Assert.True(RotateButton(dialog, 101).HasAttribute("disabled"));
        Type(dialog, "100");
        dialog.WaitForAssertion(() => Assert.True(RotateButton(dialog, 101).HasAttribute("disabled")), Wait);
        Type(dialog, "101");
        dialog.WaitForAssertion(() => Assert.False(RotateButton(dialog, 101).HasAttribute("disabled")), Wait);
        dialog.Act(() => Radio(dialog, "1 hour").Click());
        dialog.Act(() => RotateButton(dialog, 101).Click());

        dialog.WaitForAssertion(() => Assert.Contains("of 101 new keys live", dialog.Find("[data-testid=rotation-done]").TextContent), Wait);
        await using var db = app.NewDbContext();
        var rotation = await db.KeyRotations.SingleAsync(r => db.KeyRotationItems.Any(i => i.RotationId == r.Id && db.KeyUsers.Any(u => u.Id == i.UserDbId && u.Organization == tag)));
        Assert.Equal((101, TimeSpan.FromHours(1)), (rotation.Total, rotation.Grace));
    }

    [Fact]
    public async Task RotateKeyInTheUsersDialogOffersTheDefaultGraceFirstAndStartsWithIt()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, organization: "org-" + Guid.NewGuid().ToString("N")[..10]))[0];
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, id, expectedRows: 1);
        page.Act(() => page.Find("[data-testid=users-grid] tbody tr.mud-table-row td:nth-child(2)").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.Single(dialog.FindAll(".mud-dialog button"), b => b.TextContent.Trim() == "Rotate key"), Wait);

        dialog.Act(() => dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Rotate key").Click());

        dialog.WaitForAssertion(() => Assert.Equal("Rotate the key of 1 user.", dialog.Find("[data-testid=rotate-summary]").TextContent.Trim()), Wait);
        Assert.Equal(["24 hours (default)", "1 hour", "7 days", "Revoke now (incident)"],
            dialog.FindAll("[data-testid=rotate-grace] label.mud-radio").Select(l => l.TextContent.Trim()));
        Assert.Empty(dialog.FindAll("[data-testid=rotate-confirm]"));
        dialog.Act(() => RotateButton(dialog, 1).Click());
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=rotation-progress]")), Wait);
        await AssertRotatedAsync(id, TimeSpan.FromHours(24));

        dialog.Act(() => dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Close").Click());
        dialog.WaitForAssertion(() => Assert.Empty(dialog.FindAll(".mud-dialog")), Wait); // the user's dialog closes with it
    }

    [Fact]
    public async Task RevokeNowWarnsThatOldKeysStopAtOnceAndStartsWithNoGrace()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        await using var ui = new UiTest(app);
        var dialog = await ShowAsync(ui, new DialogParameters<RotateKeysDialog> { { d => d.UserIds, new[] { id } } });
        Assert.Empty(dialog.FindAll("[data-testid=rotate-incident]"));

        dialog.Act(() => Radio(dialog, "Revoke now (incident)").Click());

        dialog.WaitForAssertion(() => Assert.Contains("stops working", dialog.Find("[data-testid=rotate-incident]").TextContent), Wait);
        dialog.Act(() => RotateButton(dialog, 1).Click());
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("[data-testid=rotation-progress]")), Wait);
        await AssertRotatedAsync(id, TimeSpan.Zero);
    }

    [Fact]
    public async Task TheProgressIsPolledUntilEveryNewKeyIsLive()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(2);
        await using var ui = new UiTest(app);
        var dialog = await ShowAsync(ui, new DialogParameters<RotateKeysDialog> { { d => d.UserIds, ids } });
        dialog.Act(() => Radio(dialog, "1 hour").Click());
        dialog.Act(() => RotateButton(dialog, 2).Click());
        dialog.WaitForAssertion(() => Assert.Contains("of 2 new keys live", dialog.Find("[data-testid=rotation-done]").TextContent), Wait);

        // As the sync's swap records it (it may have done so already): the open dialog reads it at its next poll.
        await using (var db = app.NewDbContext())
            await db.KeyRotationItems.Where(i => ids.Contains(i.UserId)).ExecuteUpdateAsync(s => s.SetProperty(i => i.State, RotationItemStates.Live));

        dialog.WaitForAssertion(() => Assert.Equal("2 of 2 new keys live", dialog.Find("[data-testid=rotation-done]").TextContent.Trim()), Wait);
        Assert.Equal("100", dialog.Find("[data-testid=rotation-progress] [aria-valuenow]").GetAttribute("aria-valuenow"));
        Assert.Contains("The old keys keep working for 1 hour", dialog.Find("[data-testid=rotation-complete]").TextContent);
    }

    [Fact]
    public async Task TheListShowsARotatingBadgeWithTheOldKeysEndAndTheRotationFilterKeepsOnlyRotatingUsers()
    {
        var tag = "org-" + Guid.NewGuid().ToString("N")[..10];
        using var admin = await app.SuperAdminAsync();
        var ids = (await admin.CreateUsersAsync(3, organization: tag)).Order(StringComparer.Ordinal).ToList();
        var ends = DateTimeOffset.UtcNow.AddHours(5);
        await using (var db = app.NewDbContext())
            await db.KeyUsers.Where(u => u.UserId == ids[0]).ExecuteUpdateAsync(s => s.SetProperty(u => u.PreviousKeyExpiresAt, ends));
        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = new[] { ids[1] }, grace = "1h" })).StatusCode);
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 3);

        Assert.Equal($"rotating · old key until {ends.ToLocalTime():g}", Badge(page, ids[0]));
        Assert.StartsWith("rotating", Badge(page, ids[1])); // "rotating…" until the new key is live, then the old key's end
        Assert.Null(Badge(page, ids[2]));

        page.Act(() => page.Find("[data-testid=rotation-filter] input[type=checkbox]").Change(true));

        page.WaitForAssertion(() => Assert.Equal(ids[..2], Rows(page).Select(r => r.QuerySelectorAll("td")[1].TextContent.Trim())), Wait);
    }

    [Fact]
    public async Task AUserWhoseKeyHasPassedItsEndShowsAnExpiredBadgeInTheList()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = UserTestData.NewId("exp");
        var ids = (await admin.CreateUsersAsync(2, organization: tag)).Order(StringComparer.Ordinal).ToList();
        await using (var db = app.NewDbContext())
            await db.KeyUsers.Where(u => u.UserId == ids[0]).ExecuteUpdateAsync(s => s.SetProperty(u => u.ExpiresAt, DateTimeOffset.UtcNow.AddMinutes(-1)));
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 2);

        string? ExpiredBadge(string userId) =>
            Rows(page).Single(r => r.QuerySelectorAll("td")[1].TextContent.Trim() == userId).QuerySelector("[data-testid=expired]")?.TextContent.Trim();
        Assert.Equal("expired · blocked", ExpiredBadge(ids[0]));
        Assert.Null(ExpiredBadge(ids[1]));
    }

    private static async Task<IRenderedComponent<IComponent>> ShowAsync(UiTest ui, DialogParameters<RotateKeysDialog> parameters)
    {
        await ui.Providers.InvokeAsync(() => ui.Services.GetRequiredService<IDialogService>().ShowAsync<RotateKeysDialog>("Rotate keys", parameters));
        ui.Providers.WaitForAssertion(() => Assert.NotEmpty(ui.Providers.FindAll("[data-testid=rotate-summary]")), Wait);
        return ui.Providers;
    }

    private static IElement RotateButton(IRenderedComponent<IComponent> dialog, int count) =>
        dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == (count == 1 ? "Rotate 1 key" : $"Rotate {count:N0} keys"));

    private static IElement Radio(IRenderedComponent<IComponent> dialog, string label) =>
        dialog.FindAll("[data-testid=rotate-grace] label.mud-radio").Single(l => l.TextContent.Trim() == label).QuerySelector("input")!;

    private static void Type(IRenderedComponent<IComponent> dialog, string text) =>
        dialog.Act(() => dialog.Find("[data-testid=rotate-confirm] input").Input(text));

    private static List<IElement> Rows(IRenderedComponent<UsersPage> page) => [.. page.FindAll("[data-testid=users-grid] tbody tr.mud-table-row")];

    private static string? Badge(IRenderedComponent<UsersPage> page, string userId) =>
        Rows(page).Single(r => r.QuerySelectorAll("td")[1].TextContent.Trim() == userId).QuerySelector("[data-testid=rotating]")?.TextContent.Trim();

    private async Task AssertRotatedAsync(string userId, TimeSpan grace)
    {
        await using var db = app.NewDbContext();
        var item = await db.KeyRotationItems.SingleAsync(i => i.UserId == userId);
        Assert.Equal(grace, (await db.KeyRotations.SingleAsync(r => r.Id == item.RotationId)).Grace);
    }
}
