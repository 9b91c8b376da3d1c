using Bunit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Components;

/// <summary>English says "1 user" and "2 users"; Korean, which does not inflect, says the same either way.</summary>
public sealed class PluralsTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("en", 1, "0 of 1 user done…")]
    [InlineData("en", 2, "0 of 2 users done…")]
    [InlineData("en", 0, "0 of 0 users done…")]
    [InlineData("ko", 1, "1명 중 0명 완료…")]
    [InlineData("ko", 2, "2명 중 0명 완료…")]
    public async Task BatchProgressCountsUsersInTheRightForm(string culture, int total, string expected)
    {
        await using var ui = new UiTest(app, culture: culture);
        var progress = ui.Render<BatchProgress>(p => p.Add(c => c.Running, true).Add(c => c.Total, total));
        Assert.Equal(expected, progress.Find("p").TextContent.Trim());
    }

    [Fact]
    public async Task DeletingOneSelectedUserSpeaksOfOneUser()
    {
        var tag = "org-" + Guid.NewGuid().ToString("N")[..10];
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(1, organization: tag);
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 1);
        page.Act(() => page.Find("th input[type=checkbox]").Change(true));
        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Delete selected").Click());

        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.Single(dialog.FindAll(".mud-dialog button"), b => b.TextContent.Trim() == "Delete 1 user"), Wait);
        Assert.Equal("Delete 1 user", dialog.Find(".mud-dialog-title").TextContent.Trim());
        Assert.Contains(dialog.FindAll(".mud-dialog p"), p => p.TextContent.Trim() == "Delete this user? Their key stops working.");
        Assert.DoesNotContain("1 users", dialog.Markup);
    }
}
