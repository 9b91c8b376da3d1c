using Bunit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Components;

public sealed class UsersPageTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task TheHeadingIsInTheChosenLanguage()
    {
        await using var ko = new UiTest(app, culture: "ko");
        Assert.Equal("사용자", ko.Render<UsersPage>().Find("h1").TextContent);
    }
}
