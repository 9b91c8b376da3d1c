using Bunit;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Components.Pages.ApiClients;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Components;

public sealed class ApiClientsPageTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task AClientsTokenIsShownOnceAndIsNowhereOnTheScreenAfterwards()
    {
        var name = "ui-client-" + Guid.NewGuid().ToString("N")[..8];
        await using var ui = new UiTest(app);
        var page = ui.Render<ApiClientsPage>();
        page.Find("[data-testid='create-api-client']").Click();
        ui.Providers.WaitForAssertion(() => ui.Providers.Find("#new-client-name").Input(name));
        ui.Providers.Find("#new-client-service").Input("billing");
        ui.Providers.Find("[data-testid='create-api-client-save']").Click();

        var token = "";
        ui.Providers.WaitForAssertion(() => token = ui.Providers.Find("[data-testid='api-client-token']").TextContent.Trim());
        Assert.StartsWith("mama_", token);
        Assert.Contains("cannot be shown again", ui.Providers.Markup);
        await using (var db = app.NewDbContext())
            Assert.Equal(ApiClientService.Hash(token), (await db.ApiClients.SingleAsync(c => c.Name == name)).TokenHash);
        page.WaitForAssertion(() => page.Find($"[data-testid='client-{name}']"));
        Assert.DoesNotContain(token, page.Markup);

        ui.Providers.Find("button[aria-label='Copy token']").Click();
        Assert.Equal(token, ui.JSInterop.Invocations["mama.copy"].Single().Arguments[0]);

        ui.Providers.Find("[data-testid='token-done']").Click();
        ui.Providers.WaitForAssertion(() => Assert.Empty(ui.Providers.FindAll(".mud-dialog")));
        Assert.DoesNotContain(token, ui.Providers.Markup);
        Assert.DoesNotContain(token, page.Markup);
        var again = ui.Render<ApiClientsPage>();
        again.WaitForAssertion(() => again.Find($"[data-testid='client-{name}']"));
        Assert.DoesNotContain(token, again.Markup);
    }

    [Fact]
    public async Task RevokingAClientAfterConfirmingMarksItRevoked()
    {
        var name = "ui-revoke-" + Guid.NewGuid().ToString("N")[..8];
        await app.Service<ApiClientService>().CreateAsync(new CreateApiClientRequest(name, "billing", "all"), Actor.System, CancellationToken.None);
        await using var ui = new UiTest(app);
        var page = ui.Render<ApiClientsPage>();
        page.WaitForAssertion(() => Assert.Equal("Active", page.Find($"[data-testid='revoked-{name}']").TextContent.Trim()));

        page.Find($"button[aria-label='Revoke {name}']").Click();
        ui.Providers.WaitForAssertion(() => Assert.Contains($"Revoke the API client {name}?", ui.Providers.Find(".mud-dialog").TextContent));
        ui.Providers.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Revoke").Click();

        page.WaitForAssertion(() => Assert.StartsWith("Revoked", page.Find($"[data-testid='revoked-{name}']").TextContent.Trim()));
        Assert.Empty(page.FindAll($"button[aria-label='Revoke {name}']"));
        await using var db = app.NewDbContext();
        Assert.NotNull((await db.ApiClients.SingleAsync(c => c.Name == name)).RevokedAt);
    }

    [Fact]
    public async Task AManageClientIsListedAsSuchAndTheDialogOffersTheScope()
    {
        var name = "ui-manage-" + Guid.NewGuid().ToString("N")[..8];
        await app.Service<ApiClientService>().CreateAsync(new CreateApiClientRequest(name, "billing", "manage"), Actor.System, CancellationToken.None);
        await using var ui = new UiTest(app);
        var page = ui.Render<ApiClientsPage>();

        page.WaitForAssertion(() => Assert.Equal("All users, may manage them", page.Find($"[data-testid='scope-{name}']").TextContent.Trim()));
        page.Find("[data-testid='create-api-client']").Click();
        ui.Providers.WaitForAssertion(() => Assert.Contains("Manage: every user, and may create, edit and delete users", ui.Providers.Find(".mud-dialog").TextContent));
    }

    [Fact]
    public async Task KoreanCultureGivesKoreanLabels()
    {
        await using var ko = new UiTest(app, culture: "ko");
        var page = ko.Render<ApiClientsPage>();
        Assert.Equal("API 클라이언트", page.Find("h1").TextContent);
        Assert.Equal("API 클라이언트 추가", page.Find("[data-testid='create-api-client']").TextContent.Trim());
    }
}
