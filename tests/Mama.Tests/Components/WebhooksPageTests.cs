using Bunit;
using Mama.Audit;
using Mama.Components.Pages.Webhooks;
using Mama.Tests.Infrastructure;
using Mama.Tests.Webhooks;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Components;

public sealed class WebhooksPageTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task AnEndpointsSecretIsShownOnceAndIsNowhereOnTheScreenAfterwards()
    {
        var url = $"https://hooks.example.com/{Guid.NewGuid():N}";
        await using var ui = new UiTest(app);
        var page = ui.Render<WebhooksPage>();
        page.Find("[data-testid='create-webhook']").Click();
        ui.Providers.WaitForAssertion(() => ui.Providers.Find("#new-webhook-url").Input(url));
        ui.Providers.Find("input[data-testid='event-key.expiring']").Change(false);
        ui.Providers.Find("[data-testid='create-webhook-save']").Click();

        var secret = "";
        ui.Providers.WaitForAssertion(() => secret = ui.Providers.Find("[data-testid='webhook-secret']").TextContent.Trim());
        Assert.StartsWith("whsec_", secret);
        Assert.Contains("cannot be shown again", ui.Providers.Markup);
        await using (var db = app.NewDbContext())
        {
            var endpoint = await db.WebhookEndpoints.SingleAsync(e => e.Url == url);
            Assert.Equal("user.created,user.updated,user.deleted,key.rotated,key.previous_revoked", endpoint.Events);
            Assert.Equal(secret, app.Service<WebhookService>().SecretOf(endpoint));
        }
        page.WaitForAssertion(() => Assert.Contains(url, page.Markup));
        Assert.DoesNotContain(secret, page.Markup);

        ui.Providers.Find("button[aria-label='Copy secret']").Click();
        Assert.Equal(secret, ui.JSInterop.Invocations["mama.copy"].Single().Arguments[0]);

        ui.Providers.Find("[data-testid='secret-done']").Click();
        ui.Providers.WaitForAssertion(() => Assert.Empty(ui.Providers.FindAll(".mud-dialog")));
        Assert.DoesNotContain(secret, ui.Providers.Markup);
        var again = ui.Render<WebhooksPage>();
        again.WaitForAssertion(() => Assert.Contains(url, again.Markup));
        Assert.DoesNotContain(secret, again.Markup);
    }

    [Fact]
    public async Task ABadUrlIsExplainedAndNothingIsAdded()
    {
        await using var ui = new UiTest(app);
        var page = ui.Render<WebhooksPage>();
        page.Find("[data-testid='create-webhook']").Click();
        ui.Providers.WaitForAssertion(() => ui.Providers.Find("#new-webhook-url").Input("ftp://hooks.example.com/x"));
        ui.Providers.Find("[data-testid='create-webhook-save']").Click();

        ui.Providers.WaitForAssertion(() => Assert.Contains("Must be an absolute http:// or https:// URL.", ui.Providers.Markup));
        Assert.Empty(ui.Providers.FindAll("[data-testid='webhook-secret']"));
        await using var db = app.NewDbContext();
        Assert.False(await db.WebhookEndpoints.AnyAsync(e => e.Url == "ftp://hooks.example.com/x"));
    }

    [Fact]
    public async Task RecentDeliveriesAreListedWithTheirState()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var created = await app.Service<WebhookService>().CreateAsync(new CreateWebhookRequest(receiver.Url, [WebhookEvents.UserDeleted]), Actor.System, CancellationToken.None);
        await using (var db = app.NewDbContext())
        {
            WebhookOutbox.Stage(db, WebhookEvents.UserDeleted, ["gone-user"], DateTimeOffset.UtcNow);
            await db.SaveChangesAsync();
        }
        // Recorded as delivered, not only received: the receiver answers before the dispatcher writes the outcome.
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return await db.WebhookDeliveries.AnyAsync(d => d.EndpointId == created.Id && d.State == WebhookDeliveryStates.Delivered);
        }, "the delivery is recorded as delivered");
        await using var ui = new UiTest(app);
        var page = ui.Render<WebhooksPage>();

        page.WaitForElement($"button[aria-label='Show deliveries to {receiver.Url}']").Click();

        page.WaitForAssertion(() => Assert.Contains("Delivered", page.Find("[data-testid='deliveries-table']").TextContent));
        Assert.Contains("user.deleted", page.Find("[data-testid='deliveries-table']").TextContent);
        Assert.Contains(receiver.Received[0].Id, page.Find("[data-testid='deliveries-table']").TextContent);
        await app.Service<WebhookService>().DeleteAsync(created.Id, Actor.System, CancellationToken.None);
    }

    [Fact]
    public async Task DeletingAnEndpointAfterConfirmingRemovesIt()
    {
        var url = $"https://hooks.example.com/{Guid.NewGuid():N}";
        var created = await app.Service<WebhookService>().CreateAsync(new CreateWebhookRequest(url, [WebhookEvents.UserCreated]), Actor.System, CancellationToken.None);
        await using var ui = new UiTest(app);
        var page = ui.Render<WebhooksPage>();

        page.WaitForElement($"button[aria-label='Delete the webhook to {url}']").Click();
        ui.Providers.WaitForAssertion(() => Assert.Contains($"Delete the webhook to {url}?", ui.Providers.Find(".mud-dialog").TextContent));
        ui.Providers.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Delete").Click();

        page.WaitForAssertion(() => Assert.DoesNotContain(url, page.Markup));
        await using var db = app.NewDbContext();
        Assert.False(await db.WebhookEndpoints.AnyAsync(e => e.Id == created.Id));
    }

    [Fact]
    public async Task KoreanCultureGivesKoreanLabels()
    {
        await using var ko = new UiTest(app, culture: "ko");
        var page = ko.Render<WebhooksPage>();
        Assert.Equal("웹훅", page.Find("h1").TextContent);
        Assert.Equal("웹훅 추가", page.Find("[data-testid='create-webhook']").TextContent.Trim());
    }
}
