using System.Net;
using System.Text;
using Mama.Security;
using Mama.Tests.Infrastructure;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Webhooks;

public abstract class WebhooksApiTests(MamaApp app)
{
    [Fact]
    public async Task TheSecretIsShownOnceAndIsNeitherListedNorAuditedNorStoredInClear()
    {
        using var admin = await app.SuperAdminAsync();

        var response = await admin.PostJsonAsync("/api/v1/webhooks", new { url = "https://hooks.example.com/mama?token=abc", events = new[] { "user.created", "key.rotated" } });

        var created = await response.ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        Assert.Equal($"/api/v1/webhooks/{created.Id}", response.Headers.Location!.OriginalString);
        Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", created.Secret);
        Assert.Equal(32, Convert.FromBase64String(created.Secret["whsec_".Length..]).Length);
        Assert.Equal(["user.created", "key.rotated"], created.Events);
        var list = await admin.GetStringAsync("/api/v1/webhooks");
        Assert.Contains("https://hooks.example.com/mama?token=abc", list);
        Assert.DoesNotContain(created.Secret, list);
        Assert.DoesNotContain(created.Secret["whsec_".Length..], list);
        Assert.DoesNotContain("secret", list);
        await using var db = app.NewDbContext();
        var audit = await db.AuditEvents.Where(e => e.Action == "webhook.create").OrderBy(e => e.Id).LastAsync();
        Assert.Contains($"\"id\":{created.Id}", audit.Detail);
        Assert.Contains("https://hooks.example.com/mama", audit.Detail);
        Assert.DoesNotContain("token=abc", audit.Detail);
        Assert.DoesNotContain(created.Secret["whsec_".Length..], audit.Detail);
        var row = await db.WebhookEndpoints.SingleAsync(e => e.Id == created.Id);
        Assert.DoesNotContain(created.Secret["whsec_".Length..], Encoding.Latin1.GetString(row.SecretCiphertext));
        Assert.Equal(created.Secret, app.Service<KeyProtector>().Unprotect(row.SecretCiphertext, row.SecretEncryptionKeyId, "webhook:" + row.Url));
        await admin.DeleteAsync($"/api/v1/webhooks/{created.Id}");
    }

    public static TheoryData<string?, string[]?, string> BadRequests => new()
    {
        { null, ["user.created"], "url" },
        { "hooks.example.com/x", ["user.created"], "url" },
        { "/relative", ["user.created"], "url" },
        { "ftp://hooks.example.com/x", ["user.created"], "url" },
        { "https://user:pw@hooks.example.com/x", ["user.created"], "url" },
        { "https://hooks.example.com/x", null, "events" },
        { "https://hooks.example.com/x", [], "events" },
        { "https://hooks.example.com/x", ["user.created", "user.renamed"], "events" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadInputIsA400ProblemNamingTheFieldAndAddsNothing(string? url, string[]? events, string field)
    {
        using var admin = await app.SuperAdminAsync();
        await using var db = app.NewDbContext();
        var before = await db.WebhookEndpoints.CountAsync();

        var problem = await (await admin.PostJsonAsync("/api/v1/webhooks", new { url, events })).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var message), problem.ToString());
        Assert.False(string.IsNullOrWhiteSpace(message[0].GetString()));
        Assert.DoesNotContain("pw@", problem.ToString());
        Assert.Equal(before, await db.WebhookEndpoints.CountAsync());
    }

    [Theory]
    [InlineData("""{"url":5,"events":["user.created"]}""")]
    [InlineData("""{"url":"https://hooks.example.com/x","events":"user.created"}""")]
    [InlineData("""{"url":"https://hooks.example.com/x","events":[null]}""")]
    [InlineData("""{"url":"https://hooks.example.com/\u0000","events":["user.created"]}""")]
    [InlineData("not json")]
    public async Task AMalformedBodyIsA400Problem(string body)
    {
        using var admin = await app.SuperAdminAsync();

        var response = await admin.PostAsync("/api/v1/webhooks", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task DeletingAnEndpointRemovesItAndItsDeliveriesAndIsAudited()
    {
        using var admin = await app.SuperAdminAsync();
        var created = await admin.AddWebhookAsync("https://hooks.example.com/delete-me", WebhookEvents.UserCreated);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/webhooks/{created.Id}")).StatusCode);

        var list = await (await admin.GetAsync("/api/v1/webhooks")).ReadAsync<WebhookListResponse>();
        Assert.DoesNotContain(list.Items, e => e.Id == created.Id);
        await (await admin.DeleteAsync($"/api/v1/webhooks/{created.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await admin.GetAsync($"/api/v1/webhooks/{created.Id}/deliveries")).AssertProblemAsync(HttpStatusCode.NotFound);
        await using var db = app.NewDbContext();
        Assert.True(await db.AuditEvents.AnyAsync(e => e.Action == "webhook.delete" && e.StatusCode == 204 && e.Detail.Contains($"\"id\":{created.Id}")));
    }

    [Fact]
    public async Task OnlyASuperAdminMayManageWebhooks()
    {
        using var super = await app.SuperAdminAsync();
        var created = await super.AddWebhookAsync("https://hooks.example.com/admins", WebhookEvents.UserCreated);
        var (_, _, admin) = await app.NewAdminAsync();
        using (admin)
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await admin.GetAsync("/api/v1/webhooks")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostJsonAsync("/api/v1/webhooks", new { url = "https://hooks.example.com/x", events = new[] { "user.created" } })).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await admin.DeleteAsync($"/api/v1/webhooks/{created.Id}")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await admin.GetAsync($"/api/v1/webhooks/{created.Id}/deliveries")).StatusCode);
        }
        using var anonymous = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/webhooks")).StatusCode);
        var list = await (await super.GetAsync("/api/v1/webhooks")).ReadAsync<WebhookListResponse>();
        Assert.Contains(list.Items, e => e.Id == created.Id);
        await super.DeleteAsync($"/api/v1/webhooks/{created.Id}");
    }
}

public sealed class WebhooksApiTestsOnSqlite(SqliteApp app) : WebhooksApiTests(app), IClassFixture<SqliteApp>;
public sealed class WebhooksApiTestsOnPostgres(PostgresApp app) : WebhooksApiTests(app), IClassFixture<PostgresApp>;
