using Bunit;
using Mama.Tests.Infrastructure;
using Mama.Users;

namespace Mama.Tests.Components;

/// <summary>MudBlazor's own texts (pager, sort and column-option buttons) follow the page's language.</summary>
public sealed class MudTextsTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task AKoreanUsersPageHasItsPagerAndSortButtonsInKorean()
    {
        var tag = await OneUserAsync();
        await using var ui = new UiTest(app, culture: "ko");
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 1);

        var pager = page.Find(".mud-table-pagination").TextContent;
        Assert.Contains("페이지당 행 수:", pager);
        Assert.Contains("1개 중 1-1", pager);
        Assert.DoesNotContain("Rows per page", pager);
        Assert.DoesNotContain(" of ", pager);
        Assert.Contains(page.FindAll("th [aria-label]"), e => e.GetAttribute("aria-label") == "정렬");
        Assert.Contains(page.FindAll("th [aria-label]"), e => e.GetAttribute("aria-label") == "열 옵션");
        Assert.Contains(page.FindAll(".mud-table-pagination [aria-label]"), e => e.GetAttribute("aria-label") == "다음 페이지");
        Assert.DoesNotContain(page.FindAll("[aria-label]"), e => e.GetAttribute("aria-label") is "Sort" or "Column options" or "Next page");
    }

    [Fact]
    public async Task AnEnglishUsersPageKeepsMudBlazorsEnglish()
    {
        var tag = await OneUserAsync();
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 1);

        var pager = page.Find(".mud-table-pagination").TextContent;
        Assert.Contains("Rows per page:", pager);
        Assert.Contains("1-1 of 1", pager);
        Assert.Contains(page.FindAll("th [aria-label]"), e => e.GetAttribute("aria-label") == "Sort");
    }

    private async Task<string> OneUserAsync()
    {
        var tag = "org-" + Guid.NewGuid().ToString("N")[..10];
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([UserTestData.Row(UserTestData.NewId(), tag)]);
        return tag;
    }
}
