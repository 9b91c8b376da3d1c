using System.Net;
using Mama.Tests.Infrastructure;
using Mama.Tests.Rotation;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;
using StandardWebhooks.Diagnostics;

namespace Mama.Tests.Webhooks;

public abstract class WebhookDeliveryTests(MamaApp app)
{
    [Fact]
    public async Task UserChangesThroughTheApiArriveSignedInOrderAndWithoutAnyKey()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var admin = await app.SuperAdminAsync();
        var endpoint = await admin.AddWebhookAsync(receiver.Url, WebhookEvents.UserCreated, WebhookEvents.UserUpdated, WebhookEvents.UserDeleted);
        var id = UserTestData.NewId("wh");

        await admin.CreateUsersAsync([UserTestData.Row(id)]);
        var key = app.LiteLlm.FindKeyByAlias(id)!.Key!;
        await admin.EditAsync([id], services: new { add = new[] { "search" } });
        await admin.EditAsync([id], services: new { add = new[] { "search" } }); // no change: no event
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/users/{id}")).StatusCode);

        await MamaApp.EventuallyAsync(async () => { await Task.CompletedTask; return receiver.For(id).Count >= 3; }, "three user events arrive");
        var received = receiver.For(id);
        Assert.Equal([WebhookEvents.UserCreated, WebhookEvents.UserUpdated, WebhookEvents.UserDeleted], received.Select(r => r.Type));
        Assert.Equal(3, received.Select(r => r.Id).Distinct().Count());
        foreach (var delivery in received)
        {
            delivery.Verify(endpoint.Secret);
            Assert.StartsWith("msg_", delivery.Id);
            Assert.Equal([id], delivery.UserIds);
            Assert.DoesNotContain("sk-", delivery.Body);
            Assert.DoesNotContain(key, delivery.Body);
            Assert.DoesNotContain(key[3..], delivery.Body);
        }
        // The check can fail: another secret, or a changed body, does not verify.
        Assert.Throws<WebhookVerificationException>(() => received[0].Verify(WebhookService.NewSecret()));
        Assert.Throws<WebhookVerificationException>(() => (received[0] with { Body = received[0].Body.Replace(id, "someone-else") }).Verify(endpoint.Secret));
        await admin.DeleteAsync($"/api/v1/webhooks/{endpoint.Id}");
    }

    [Fact]
    public async Task ARealRotationSendsKeyRotatedThenPreviousRevokedSignedAndWithoutEitherKey()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var admin = await app.SuperAdminAsync();
        var endpoint = await admin.AddWebhookAsync(receiver.Url, WebhookEvents.KeyRotated, WebhookEvents.KeyPreviousRevoked);
        var id = UserTestData.NewId("wh");
        await admin.CreateUsersAsync([UserTestData.Row(id)]);
        var oldKey = app.LiteLlm.FindKeyByAlias(id)!.Key!;

        var started = await admin.RotateAsync(new { user_ids = new[] { id }, grace = "0" });
        await admin.UntilAsync(started.RotationId!, p => p.Revoked == 1 && p.Finished, "the old key is revoked");
        var newKey = app.LiteLlm.FindKeyByAlias(id)!.Key!;
        Assert.NotEqual(oldKey, newKey);

        await MamaApp.EventuallyAsync(async () => { await Task.CompletedTask; return receiver.For(id).Count >= 2; }, "both rotation events arrive");
        var received = receiver.For(id);
        Assert.Equal([WebhookEvents.KeyRotated, WebhookEvents.KeyPreviousRevoked], received.Select(r => r.Type));
        foreach (var delivery in received)
        {
            delivery.Verify(endpoint.Secret);
            Assert.Equal(started.RotationId, delivery.Data.GetProperty("rotation_id").GetString());
            foreach (var key in new[] { oldKey, newKey })
            {
                Assert.DoesNotContain(key, delivery.Body);
                Assert.DoesNotContain(key[3..], delivery.Body);
            }
            Assert.DoesNotContain("sk-", delivery.Body);
        }
        Assert.True(received[0].Data.TryGetProperty("previous_key_expires_at", out _));
        await admin.DeleteAsync($"/api/v1/webhooks/{endpoint.Id}");
    }

    [Fact]
    public async Task ADeliveryAnswered500TwiceIsRetriedWithTheSameIdUntilDelivered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (_, before) => before < 2 ? 500 : 200;
        using var admin = await app.SuperAdminAsync();
        var endpoint = await admin.AddWebhookAsync(receiver.Url, WebhookEvents.UserCreated);
        var id = UserTestData.NewId("wh");

        await admin.CreateUsersAsync([UserTestData.Row(id)]);

        await MamaApp.EventuallyAsync(async () => { await Task.CompletedTask; return receiver.For(id).Any(r => r.AnsweredWith == 200); }, "the third attempt is answered 200");
        var attempts = receiver.For(id);
        Assert.Equal([500, 500, 200], attempts.Select(a => a.AnsweredWith));
        Assert.Single(attempts.Select(a => a.Id).Distinct());
        Assert.All(attempts, a => a.Verify(endpoint.Secret));
        // The receiver answers before the dispatcher records the outcome: wait for the record, then check all of it.
        WebhookDeliveryResponse? delivery = null;
        await MamaApp.EventuallyAsync(async () =>
        {
            var deliveries = await (await admin.GetAsync($"/api/v1/webhooks/{endpoint.Id}/deliveries")).ReadAsync<WebhookDeliveryListResponse>();
            delivery = deliveries.Items.Single(d => d.MessageId == attempts[0].Id);
            return delivery.State != WebhookDeliveryStates.Pending;
        }, "the delivery's outcome is recorded");
        Assert.Equal((WebhookDeliveryStates.Delivered, 3, 200, null), (delivery!.State, delivery.Attempts, delivery.LastStatus, delivery.LastError));
        Assert.NotNull(delivery.DeliveredAt);
        await admin.DeleteAsync($"/api/v1/webhooks/{endpoint.Id}");
    }

    [Fact]
    public async Task KeyRotatedArrivesBeforePreviousRevokedEvenWhenItFailedOnce()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var admin = await app.SuperAdminAsync();
        var endpoint = await admin.AddWebhookAsync(receiver.Url, WebhookEvents.KeyRotated, WebhookEvents.KeyPreviousRevoked);
        var id = UserTestData.NewId("wh");
        string rotatedId;
        await using (var db = app.NewDbContext())
        {
            var now = DateTimeOffset.UtcNow;
            // As the rotation does: two steps, two transactions, the revoke after the swap.
            rotatedId = WebhookOutbox.Stage(db, WebhookEvents.KeyRotated, [id], now, new { rotation_id = "rot_test", previous_key_expires_at = now }).MessageId;
            receiver.Answer = (msg, before) => msg == rotatedId && before == 0 ? 503 : 200;
            await db.SaveChangesAsync();
            WebhookOutbox.Stage(db, WebhookEvents.KeyPreviousRevoked, [id], now, new { rotation_id = "rot_test" });
            await db.SaveChangesAsync();
        }

        await MamaApp.EventuallyAsync(async () => { await Task.CompletedTask; return receiver.For(id).Count(r => r.AnsweredWith == 200) == 2; }, "both events delivered");
        var arrivals = receiver.For(id);
        Assert.Equal([(WebhookEvents.KeyRotated, 503), (WebhookEvents.KeyRotated, 200), (WebhookEvents.KeyPreviousRevoked, 200)], arrivals.Select(a => (a.Type, a.AnsweredWith)));
        Assert.Equal("rot_test", arrivals[0].Data.GetProperty("rotation_id").GetString());
        Assert.All(arrivals, a => a.Verify(endpoint.Secret));
        await admin.DeleteAsync($"/api/v1/webhooks/{endpoint.Id}");
    }

    [Fact]
    public async Task TwoInstancesSendEachEventOnceAndInOrder()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var admin = await app.SuperAdminAsync();
        var endpoint = await admin.AddWebhookAsync(receiver.Url, WebhookEvents.UserUpdated);
        await using var second = app.StartHost();
        var id = UserTestData.NewId("wh");
        var staged = new List<string>();
        await using (var db = app.NewDbContext())
            for (var i = 0; i < 20; i++)
            {
                staged.Add(WebhookOutbox.Stage(db, WebhookEvents.UserUpdated, [id], DateTimeOffset.UtcNow).MessageId);
                await db.SaveChangesAsync();
            }

        await MamaApp.EventuallyAsync(async () => { await Task.CompletedTask; return receiver.For(id).Count >= 20; }, "all twenty arrive");
        Assert.Equal(staged, receiver.For(id).Select(r => r.Id));
        await admin.DeleteAsync($"/api/v1/webhooks/{endpoint.Id}");
    }

    [Fact]
    public async Task ADeliveryStillFailingOnceItsEventIsOlderThanTheRetryWindowIsMarkedFailed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (_, _) => 500;
        using var admin = await app.SuperAdminAsync();
        var endpoint = await admin.AddWebhookAsync(receiver.Url, WebhookEvents.KeyExpiring);
        var id = UserTestData.NewId("wh");
        await using (var db = app.NewDbContext())
        {
            WebhookOutbox.Stage(db, WebhookEvents.KeyExpiring, [id], DateTimeOffset.UtcNow - TimeSpan.FromHours(25));
            await db.SaveChangesAsync();
        }

        WebhookDeliveryResponse? delivery = null;
        await MamaApp.EventuallyAsync(async () =>
        {
            delivery = (await (await admin.GetAsync($"/api/v1/webhooks/{endpoint.Id}/deliveries")).ReadAsync<WebhookDeliveryListResponse>()).Items.SingleOrDefault();
            return delivery?.State == WebhookDeliveryStates.Failed;
        }, "the delivery is given up");
        Assert.Equal((1, 500, "HTTP 500"), (delivery!.Attempts, delivery.LastStatus, delivery.LastError));
        Assert.Null(delivery.NextAttemptAt);
        Assert.Single(receiver.For(id));
        await admin.DeleteAsync($"/api/v1/webhooks/{endpoint.Id}");
    }

    [Fact]
    public async Task FinishedDeliveriesAndTheirEventsArePrunedAfterAWeekButPendingOnesStay()
    {
        using var admin = await app.SuperAdminAsync();
        var endpoint = await admin.AddWebhookAsync("https://hooks.example.com/prune", WebhookEvents.UserCreated);
        var old = DateTimeOffset.UtcNow - TimeSpan.FromDays(8);
        await using var db = app.NewDbContext();
        var events = new[] { WebhookDeliveryStates.Delivered, WebhookDeliveryStates.Failed, WebhookDeliveryStates.Pending }.Select(state =>
        {
            var e = WebhookOutbox.Stage(db, WebhookEvents.UserCreated, ["pruned"], old);
            e.DispatchedAt = old;
            return (Event: e, State: state);
        }).ToList();
        var recent = WebhookOutbox.Stage(db, WebhookEvents.UserCreated, ["kept"], DateTimeOffset.UtcNow);
        recent.DispatchedAt = DateTimeOffset.UtcNow;
        await db.SaveChangesAsync();
        db.WebhookDeliveries.AddRange(events.Select(x => new WebhookDelivery
        {
            EventId = x.Event.Id,
            EndpointId = endpoint.Id,
            State = x.State,
            CreatedAt = old,
            NextAttemptAt = x.State == WebhookDeliveryStates.Pending ? DateTimeOffset.UtcNow + TimeSpan.FromHours(1) : old,
        }));
        await db.SaveChangesAsync();

        await app.Service<WebhookDispatcher>().PruneAsync(CancellationToken.None);

        var left = await db.WebhookEvents.AsNoTracking().Where(e => events.Select(x => x.Event.Id).Contains(e.Id) || e.Id == recent.Id).Select(e => e.Id).ToListAsync();
        Assert.Equal([events[2].Event.Id, recent.Id], left.Order());
        Assert.Equal([WebhookDeliveryStates.Pending], await db.WebhookDeliveries.Where(d => d.EndpointId == endpoint.Id).Select(d => d.State).ToListAsync());
        await admin.DeleteAsync($"/api/v1/webhooks/{endpoint.Id}");
    }

    [Fact]
    public async Task AnEndpointGetsOnlyTheEventsItChose()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var admin = await app.SuperAdminAsync();
        var endpoint = await admin.AddWebhookAsync(receiver.Url, WebhookEvents.UserDeleted);
        var id = UserTestData.NewId("wh");

        await admin.CreateUsersAsync([UserTestData.Row(id)]);
        await admin.DeleteAsync($"/api/v1/users/{id}");

        await MamaApp.EventuallyAsync(async () => { await Task.CompletedTask; return receiver.For(id).Count >= 1; }, "the delete arrives");
        await using (var db = app.NewDbContext())
            await MamaApp.EventuallyAsync(async () => !await db.WebhookEvents.AnyAsync(e => e.DispatchedAt == null), "every event fanned out");
        Assert.Equal([WebhookEvents.UserDeleted], receiver.For(id).Select(r => r.Type));
        await admin.DeleteAsync($"/api/v1/webhooks/{endpoint.Id}");
    }
}

public sealed class WebhookDeliveryTestsOnSqlite(SqliteApp app) : WebhookDeliveryTests(app), IClassFixture<SqliteApp>;
public sealed class WebhookDeliveryTestsOnPostgres(PostgresApp app) : WebhookDeliveryTests(app), IClassFixture<PostgresApp>;

public static class WebhookTestData
{
    public static async Task<CreatedWebhookResponse> AddWebhookAsync(this HttpClient admin, string url, params string[] events) =>
        await (await admin.PostJsonAsync("/api/v1/webhooks", new { url, events })).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
}
