using Mama.Audit;
using Mama.Components;
using Mama.Http;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Components;

/// <summary>The server's problems carry a stable code; the UI says the known ones in the admin's language.</summary>
public sealed class ProblemTextsTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Theory]
    [InlineData("ko", "사용자 '{0}'이(가) 없습니다.")]
    [InlineData("en", "No user '{0}'.")]
    public async Task AnUnknownUserIsReportedInThePagesLanguage(string culture, string expected)
    {
        await using var ui = new UiTest(app, culture: culture);
        var ghost = UserTestData.NewId("ghost");
        var problem = await Assert.ThrowsAsync<ProblemException>(() =>
            ui.Services.GetRequiredService<UserService>().GetAsync(ghost, Actor.System, CancellationToken.None));

        Assert.Equal(string.Format(expected, ghost), ui.Services.GetRequiredService<UiSession>().Describe(problem));
    }

    [Fact]
    public async Task AProblemWithoutAKnownCodeKeepsItsOwnWordsAsTheyCame()
    {
        await using var ui = new UiTest(app, culture: "ko");
        var proxy = ProblemException.Conflict("LiteLLM said: key_alias already exists").WithCode("no_such_code");
        Assert.Equal("LiteLLM said: key_alias already exists", ui.Services.GetRequiredService<UiSession>().Describe(proxy));
    }
}
