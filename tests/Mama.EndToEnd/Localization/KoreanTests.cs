using Mama.EndToEnd.Infrastructure;

namespace Mama.EndToEnd.Localization;

public sealed class KoreanTests(MamaE2E app) : BrowserTest(app)
{
    protected override string Locale => "ko-KR";

    [Fact]
    public async Task AKoreanBrowserGetsKoreanLabelsUntilItSwitchesToEnglish()
    {
        var admin = await App.NewAdminAsync(mustChangePassword: false);
        await GotoAsync("/login");
        await ExpectHeadingAsync("로그인");
        await Expect(Page.Locator("html")).ToHaveAttributeAsync("lang", "ko");

        await Page.GetByLabel("사용자 이름").FillAsync(admin.Username);
        await Page.GetByLabel("비밀번호", new() { Exact = true }).FillAsync(admin.Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "로그인" }).ClickAsync();

        await ExpectHeadingAsync("사용자");
        await WaitForInteractiveAsync();
        await Expect(NavLink("감사 로그", menu: "주 메뉴")).ToBeVisibleAsync();
        await Expect(NavLink("계정", menu: "주 메뉴")).ToBeVisibleAsync();
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "로그아웃" })).ToBeVisibleAsync();

        await Page.GetByRole(AriaRole.Link, new() { Name = "English" }).ClickAsync();
        await ExpectHeadingAsync("Users");
        await Expect(NavLink("Audit log")).ToBeVisibleAsync();
    }
}
