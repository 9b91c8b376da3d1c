using System.Net;
using System.Text.Json;
using Mama.Audit;
using Mama.Components;
using Mama.Http;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Components;

/// <summary>User validation failures carry stable codes, per problem and per field: the API keeps its words and adds them; the UI says them in Korean.</summary>
public sealed class ValidationCodeTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task RefusedRowsAreDescribedByTheirCodesInKorean()
    {
        await using var ui = new UiTest(app, culture: "ko");
        var good = UserTestData.NewId();
        var problem = await Assert.ThrowsAsync<ProblemException>(() => ui.Services.GetRequiredService<UserService>().CreateAsync(new CreateUsersRequest(
            [new NewUserRequest(good, "acme", [], [], ""), new NewUserRequest("bad/id", "acme", [], [], ""), new NewUserRequest(good, "acme", [], [], "", "pk-not-a-key-at-all")]),
            new Actor("admin", null, null), CancellationToken.None));

        Assert.Equal(
            "올바르지 않은 행이 있어 아무것도 만들지 않았습니다. "
            + "2행 사용자 ID: 올바른 사용자 ID가 아닙니다. 한글 등 모든 문자와 숫자, . _ @ - +, 단어 사이의 공백 한 칸만 쓸 수 있습니다. "
            + "3행 사용자 ID: 이 사용자 ID가 두 번 이상 나옵니다. "
            + "3행 키: 키는 sk-로 시작해야 합니다.",
            ui.Services.GetRequiredService<UiSession>().Describe(problem));
    }

    [Fact]
    public async Task TheApiKeepsItsWordsAndAddsTheCodes()
    {
        using var admin = await app.SuperAdminAsync();
        var response = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { new { user_id = "bad/id", organization = "acme" } } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var problem = body.RootElement;
        Assert.Equal("1 of 1 rows are invalid; nothing was created.", problem.GetProperty("detail").GetString());
        Assert.Equal("Must not contain '/'.", problem.GetProperty("errors").GetProperty("users[0].user_id")[0].GetString());
        Assert.Equal("rows_invalid", problem.GetProperty("code").GetString());
        Assert.Equal("user_id_invalid", problem.GetProperty("error_codes").GetProperty("users[0].user_id").GetString());
    }
}
