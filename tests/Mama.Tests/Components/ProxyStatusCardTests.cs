using Bunit;
using Mama.Components.Pages.LiteLlm;
using Mama.Components.Pages.Users;
using Mama.LiteLlm;
using Mama.LiteLlmEmulator;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Components;

/// <summary>The LiteLLM status card and the red banner of a compromised proxy, on the real services and the emulator.</summary>
public sealed class ProxyStatusCardTests(SqliteApp app) : IClassFixture<SqliteApp>, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TheLiteLlmPageShowsTheProxyVersionCustomKeysAndBacklogWithoutABanner()
    {
        await using var ui = new UiTest(app);

        var page = ui.Render<LiteLlmPage>();

        page.WaitForAssertion(() => Assert.Equal(EmulatorControl.DefaultVersion, page.Find("[data-testid='proxy-version']").TextContent), Wait);
        Assert.NotEmpty(page.FindAll("[data-testid='proxy-reachable']"));
        Assert.Equal("Not known yet", page.Find("[data-testid='proxy-custom-keys']").TextContent);
        Assert.Matches(@"^\d+$", page.Find("[data-testid='backlog-pending']").TextContent);
        Assert.Empty(page.FindAll("[data-testid='compromised-version-banner']"));
    }

    [Fact]
    public async Task ACompromisedProxyGetsARedBannerThatExplainsItOnTheLiteLlmPage()
    {
        app.LiteLlm.Version = "1.82.7";
        await using var ui = new UiTest(app);

        var page = ui.Render<LiteLlmPage>();

        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("[data-testid='compromised-version-banner']")), Wait);
        var banner = page.Find("[data-testid='compromised-version-banner']");
        Assert.Equal("alert", banner.GetAttribute("role"));
        Assert.Contains("mud-alert-filled-error", banner.ClassName);
        Assert.Contains("1.82.7", banner.TextContent);
        Assert.Contains("credential stealer", banner.TextContent);
        Assert.Contains("re-key every user", banner.TextContent);
    }

    [Fact]
    public async Task TheBannerIsInKoreanToo()
    {
        app.LiteLlm.Version = "1.82.8";
        await using var ui = new UiTest(app, culture: "ko");

        var page = ui.Render<LiteLlmPage>();

        page.WaitForAssertion(() => Assert.Contains("손상된 릴리스", page.Find("[data-testid='compromised-version-banner']").TextContent), Wait);
        Assert.Contains("1.82.8", page.Find("[data-testid='compromised-version-banner']").TextContent);
    }

    [Fact]
    public async Task TheUsersPageShowsTheBannerToo()
    {
        app.LiteLlm.Version = "1.82.7";
        await using var ui = new UiTest(app);
        await app.Service<ProxyStatus>().GetAsync(Xunit.TestContext.Current.CancellationToken); // not an older cached answer

        var page = ui.Render<UsersPage>();

        page.WaitForAssertion(() => Assert.Contains("1.82.7", page.Find("[data-testid='compromised-version-banner']").TextContent), Wait);
    }

    [Fact]
    public async Task AnAccessGroupIsShownAsAGroupNotAsAModelOrAnUnknownName()
    {
        await using var ui = new UiTest(app);

        var chips = ui.Render<ModelChips>(p => p
            .Add(c => c.Models, ["gpt-4o", "beta", "gone"])
            .Add(c => c.Served, new HashSet<string> { "gpt-4o", "beta" })
            .Add(c => c.Groups, new HashSet<string> { "beta" }));

        Assert.Equal("true", chips.Find("[data-model='beta']").GetAttribute("data-access-group"));
        Assert.Equal("beta (access group)", chips.Find("[data-model='beta']").GetAttribute("aria-label"));
        Assert.Null(chips.Find("[data-model='gpt-4o']").GetAttribute("data-access-group"));
        Assert.Equal("true", chips.Find("[data-model='gone']").GetAttribute("data-unavailable"));
    }

    public void Dispose() => app.LiteLlm.Version = EmulatorControl.DefaultVersion;
}
