using Bunit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Components;

/// <summary>The Add users dialog on a mama whose operator set LiteLlm:KeyAliasPattern.</summary>
public sealed class AddUsersAliasRulesTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task PastedIdsThatBreakTheAliasRulesAreNamedInWordsWithThePatternAndNothingIsCreated()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["LiteLlm:KeyAliasPattern"] = "team-[a-z]+" });
        await using var ui = new UiTest(host);
        var page = ui.Render<UsersPage>();
        page.WaitForAssertion(() => Assert.Contains(page.FindAll("button"), b => b.TextContent == "Add users"), Wait);
        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Add users").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.NotEmpty(dialog.FindAll("textarea")), Wait);
        var tag = "org-" + Guid.NewGuid().ToString("N")[..8];

        dialog.Act(() => dialog.Find("textarea").Input($"team-ok,{tag}\nteam-search-2,{tag}\nteam..x,{tag}"));
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent.Contains("Add pasted lines")).Click());

        dialog.WaitForAssertion(() =>
        {
            var alerts = dialog.FindAll("[role=alert]").Select(a => a.TextContent).ToList();
            Assert.Contains(alerts, a => a.Contains("Row 2") && a.Contains("\"team-search-2\" does not follow the naming rule") && a.Contains("team-[a-z]+"));
            Assert.Contains(alerts, a => a.Contains("Row 3") && a.Contains("no \"..\""));
            Assert.DoesNotContain(alerts, a => a.Contains("Row 1"));
        }, Wait);
        dialog.Act(() => dialog.FindAll("button").Single(b => b.TextContent == "Create 3 users").Click());
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => u.Organization == tag, Xunit.TestContext.Current.CancellationToken));
    }
}
