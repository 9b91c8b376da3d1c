using System.Net;
using Mama.Security;
using Mama.Tests.Infrastructure;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Tests.Webhooks;

/// <summary>mama with Mama:Webhooks:AllowPrivateNetworks off, as in production (the other fixtures turn it on).</summary>
public sealed class WebhookPrivateNetworkTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private async Task PrivateNetworksOffAsync()
    {
        if (app.Service<IOptions<WebhookOptions>>().Value.AllowPrivateNetworks)
            await app.RestartAsync(new Dictionary<string, string?> { ["Mama:Webhooks:AllowPrivateNetworks"] = "false" });
    }

    [Fact]
    public async Task LoopbackAndPrivateUrlsAreRefusedWithAClearProblem()
    {
        await PrivateNetworksOffAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        using var admin = await app.SuperAdminAsync();

        string[] urls = [receiver.Url, "http://localhost:8080/hook", "http://[::1]/hook", "https://10.0.0.7/hook", "http://169.254.169.254/latest"];
        foreach (var url in urls)
        {
            var problem = await (await admin.PostJsonAsync("/api/v1/webhooks", new { url, events = new[] { "user.created" } })).AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("Mama:Webhooks:AllowPrivateNetworks", problem.GetProperty("errors").GetProperty("url")[0].GetString());
        }
        await using var db = app.NewDbContext();
        // The other test of this class adds an endpoint of its own directly: only these URLs must be absent.
        Assert.False(await db.WebhookEndpoints.AnyAsync(e => urls.Contains(e.Url)));
    }

    [Fact]
    public async Task AnEndpointThatLeadsToAPrivateAddressAtDeliveryTimeIsNeverConnectedTo()
    {
        await PrivateNetworksOffAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        long endpointId;
        await using (var db = app.NewDbContext())
        {
            // As if the name had resolved to a public address when added and to loopback now (DNS rebinding).
            var protector = app.Service<KeyProtector>();
            var endpoint = new WebhookEndpoint
            {
                Url = receiver.Url,
                Events = WebhookEvents.UserCreated,
                SecretCiphertext = protector.Protect(WebhookService.NewSecret(), "webhook:" + receiver.Url),
                SecretEncryptionKeyId = protector.CurrentKeyId,
                CreatedAt = DateTimeOffset.UtcNow,
            };
            db.WebhookEndpoints.Add(endpoint);
            await db.SaveChangesAsync();
            endpointId = endpoint.Id;
            WebhookOutbox.Stage(db, WebhookEvents.UserCreated, ["rebound"], DateTimeOffset.UtcNow);
            await db.SaveChangesAsync();
        }

        WebhookDeliveryResponse? delivery = null;
        using var admin = await app.SuperAdminAsync();
        await MamaApp.EventuallyAsync(async () =>
        {
            delivery = (await (await admin.GetAsync($"/api/v1/webhooks/{endpointId}/deliveries")).ReadAsync<WebhookDeliveryListResponse>()).Items.SingleOrDefault();
            return delivery is { Attempts: > 0 };
        }, "the delivery is attempted");
        Assert.Equal(WebhookDeliveryStates.Pending, delivery!.State);
        Assert.Contains("Refused to connect", delivery.LastError);
        Assert.Null(delivery.LastStatus);
        Assert.Empty(receiver.Received);
    }
}
