using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Http;
using Mama.Rotation;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Rotation;

/// <summary>
/// Keys that end (<c>expires_at</c>): blocked on the proxy once the time passes, unblocked when it is moved on, warned of
/// ahead by <c>key.expiring</c>, and rotated once older than <c>Mama:Rotation:MaxKeyAge</c>. Each test runs its own
/// host with a one-second check interval on the fixture's database and emulator.
/// </summary>
public abstract class KeyExpiryTests(MamaApp app)
{
    private static readonly Dictionary<string, string?> FastChecks = new() { ["Mama:Rotation:ExpiryCheckInterval"] = "00:00:01" };

    [Fact]
    public async Task AKeyIsBlockedOnTheProxyOnceItsEndPassesAndUnblockedWhenTheEndIsMovedOn()
    {
        await using var host = app.StartHost(FastChecks);
        using var admin = await SignInAsync(host);
        var id = UserTestData.NewId("exp");
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(4);

        var created = await admin.CreateUsersAsync([new { user_id = id, organization = "acme", allowed_models = new[] { "gpt-4o" }, expires_at = expiresAt }]);

        Assert.Equal(expiresAt, Assert.Single(created.Users).ExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
        Assert.False(created.Users[0].Expired);
        Assert.False(app.LiteLlm.FindKeyByAlias(id)!.Blocked);
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(id)!.Blocked), "the key is blocked on the proxy after its end");
        var listed = Assert.Single((await (await admin.GetAsync("/api/v1/users?search=" + id)).ReadAsync<UserPage>()).Items);
        Assert.True(listed.Expired);
        Assert.Equal(["gpt-4o"], app.LiteLlm.FindKeyByAlias(id)!.Models); // blocked, its models kept for when it is unblocked
        using var lookups = await LookupClientAsync(host, admin);
        var looked = await (await lookups.GetAsync("/api/v1/keys/" + id)).ReadAsync<JsonElement>();
        Assert.False(looked.GetProperty("usable").GetBoolean());
        if (looked.TryGetProperty("expired", out var expired)) Assert.True(expired.GetBoolean());
        await using (var db = app.NewDbContext())
        {
            var events = await db.AuditEvents.Where(e => e.Action == KeyExpiry.ExpiredAction).ToListAsync();
            var expiredEvent = Assert.Single(events, e => AuditEvent.SplitUserIds(e.UserIds).Contains(id));
            Assert.Equal(Actor.System.Name, expiredEvent.Actor);
        }

        var extended = await PatchAsync(admin, id, new { expires_at = DateTimeOffset.UtcNow.AddHours(1) });

        Assert.Contains("expires_at", Assert.Single(extended.Changed).Changes.Keys);
        Assert.False(Assert.Single(extended.Users).Expired);
        await MamaApp.EventuallyAsync(() => Task.FromResult(!app.LiteLlm.FindKeyByAlias(id)!.Blocked), "the key is unblocked once its end is moved on");
        await MamaApp.EventuallyAsync(async () => (await (await lookups.GetAsync("/api/v1/keys/" + id)).ReadAsync<JsonElement>()).GetProperty("usable").GetBoolean(),
            "lookups call the key usable again");

        var cleared = await PatchAsync(admin, id, new { clear_expires_at = true });
        Assert.Null(Assert.Single(cleared.Users).ExpiresAt);
        await using (var db = app.NewDbContext())
        {
            var update = await db.AuditEvents.Where(e => e.Action == "user.update").OrderBy(e => e.Id).ToListAsync();
            Assert.Contains("\"clear_expires_at\":true", update.Last(e => AuditEvent.SplitUserIds(e.UserIds).Contains(id)).Detail);
        }
    }

    [Fact]
    public async Task RotatingAnExpiredKeyUnblocksIt()
    {
        await using var host = app.StartHost(FastChecks);
        using var admin = await SignInAsync(host);
        var id = UserTestData.NewId("exp");
        await admin.CreateUsersAsync([new { user_id = id, allowed_models = new[] { "gpt-4o" }, expires_at = DateTimeOffset.UtcNow.AddSeconds(3) }]);
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(id)!.Blocked), "the key is blocked on the proxy after its end");

        var rotation = await admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = new[] { id }, grace = "0" });

        Assert.Equal(HttpStatusCode.Accepted, rotation.StatusCode);
        await using (var db = app.NewDbContext()) Assert.Null((await db.KeyUsers.SingleAsync(u => u.UserId == id)).ExpiresAt);
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(id) is { Blocked: false }), "the user's key is unblocked");
    }

    [Fact]
    public async Task AnEndInThePastOrBothSetAndClearedIsA400ThatChangesNothing()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId("exp");

        var create = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { new { user_id = id, allowed_models = new[] { "gpt-4o" }, expires_at = DateTimeOffset.UtcNow.AddMinutes(-1) } } });

        var problem = await create.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("Must be in the future.", problem.GetProperty("errors").GetProperty("users[0].expires_at")[0].GetString());
        await using (var db = app.NewDbContext()) Assert.False(await db.KeyUsers.AnyAsync(u => u.UserId == id));

        var later = DateTimeOffset.UtcNow.AddDays(30);
        await admin.CreateUsersAsync([new { user_id = id, allowed_models = new[] { "gpt-4o" }, expires_at = later }]);
        var past = await Patch(admin, id, new { expires_at = DateTimeOffset.UtcNow.AddSeconds(-5) });
        var both = await Patch(admin, id, new { expires_at = DateTimeOffset.UtcNow.AddDays(1), clear_expires_at = true });

        await past.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("not both", (await both.AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("expires_at")[0].GetString());
        await using (var db = app.NewDbContext()) Assert.Equal(later, (await db.KeyUsers.SingleAsync(u => u.UserId == id)).ExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task KeyExpiringIsQueuedOncePerEndDateWithinTheWarningAndAgainForANewEndDate()
    {
        await using var host = app.StartHost(FastChecks);
        using var admin = await SignInAsync(host);
        var (id, far) = (UserTestData.NewId("warn"), UserTestData.NewId("far"));
        var first = DateTimeOffset.UtcNow.AddHours(2);
        await admin.CreateUsersAsync([
            new { user_id = id, allowed_models = new[] { "gpt-4o" }, expires_at = first },
            new { user_id = far, allowed_models = new[] { "gpt-4o" }, expires_at = DateTimeOffset.UtcNow.AddDays(30) }, // beyond the 7 days
        ]);

        await MamaApp.EventuallyAsync(async () => (await ExpiringEventsAsync(id)).Count == 1, "key.expiring is queued for the user");
        // Two later users warned of prove that later passes ran, and left the first user's event alone.
        foreach (var probe in new[] { UserTestData.NewId("probe"), UserTestData.NewId("probe") })
        {
            await admin.CreateUsersAsync([new { user_id = probe, allowed_models = new[] { "gpt-4o" }, expires_at = DateTimeOffset.UtcNow.AddHours(1) }]);
            await MamaApp.EventuallyAsync(async () => (await ExpiringEventsAsync(probe)).Count == 1, "a later pass warned of the probe");
        }

        var once = Assert.Single(await ExpiringEventsAsync(id));
        Assert.Equal([id], once.Data.GetProperty("user_ids").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal(first, once.Data.GetProperty("expires_at").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
        Assert.Empty(await ExpiringEventsAsync(far));
        Assert.DoesNotContain("sk-", once.Payload);

        var second = DateTimeOffset.UtcNow.AddHours(3);
        await PatchAsync(admin, id, new { expires_at = second });
        await MamaApp.EventuallyAsync(async () => (await ExpiringEventsAsync(id)).Count == 2, "key.expiring is queued again for the new end date");
        Assert.Equal(second, (await ExpiringEventsAsync(id))[1].Data.GetProperty("expires_at").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task AKeyLiveForLongerThanMaxKeyAgeIsRotatedAutomaticallyWithTheDefaultGrace()
    {
        await using var host = app.StartHost(new Dictionary<string, string?>(FastChecks) { ["Mama:Rotation:MaxKeyAge"] = "00:00:02", ["Mama:Rotation:DefaultGrace"] = "01:00:00" });
        using var admin = await SignInAsync(host);
        var id = (await admin.CreateUsersAsync(1))[0];
        string hash;
        await using (var db = app.NewDbContext()) hash = (await db.KeyUsers.SingleAsync(u => u.UserId == id)).KeyHash;

        string? rotationId = null;
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            rotationId = await db.KeyRotationItems.Where(i => i.UserId == id).Select(i => i.RotationId).FirstOrDefaultAsync();
            return rotationId is not null;
        }, "the old key is rotated");

        var progress = await (await admin.GetAsync("/api/v1/rotations/" + rotationId)).ReadAsync<RotationProgress>();
        Assert.Equal(RotationTriggers.MaxKeyAge, progress.Trigger);
        Assert.Equal(TimeSpan.FromHours(1), progress.Grace);
        await using (var db = app.NewDbContext())
        {
            var user = await db.KeyUsers.SingleAsync(u => u.UserId == id);
            // The next key waits in its slot until the sync swaps it in (or is current already, once it has).
            Assert.True(user.NextKeyHash is { } next && next != hash || user.KeyHash != hash);
            var start = await db.AuditEvents.Where(e => e.Action == RotationService.Action && e.Actor == Actor.System.Name).ToListAsync();
            Assert.Contains(start, e => AuditEvent.SplitUserIds(e.UserIds).Contains(id) && e.Detail.Contains(RotationTriggers.MaxKeyAge));
        }
    }

    [Fact]
    public async Task TheExportCarriesEachEndDateAsItsLastColumnAndTheImportReadsItBack()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (ends, lasts) = ("ends-" + tag, "lasts-" + tag);
        var expiresAt = new DateTimeOffset(2031, 2, 3, 4, 5, 6, TimeSpan.Zero);
        await admin.CreateUsersAsync([
            new { user_id = ends, allowed_models = new[] { "gpt-4o" }, expires_at = expiresAt.ToOffset(TimeSpan.FromHours(9)) },
            new { user_id = lasts, allowed_models = new[] { "gpt-4o" }, expires_at = (DateTimeOffset?)null },
        ]);

        using var csv = await admin.GetAsync("/api/v1/users/export?include_keys=true&search=" + tag);
        using var jsonl = await admin.GetAsync("/api/v1/users/export?include_keys=true&format=jsonl&search=" + tag);

        var text = (await csv.Content.ReadAsStringAsync()).TrimStart('\uFEFF');
        var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith(",sync_state,expires_at", lines[0]);
        Assert.EndsWith(",2031-02-03T04:05:06.0000000+00:00", lines.Single(l => l.StartsWith(ends, StringComparison.Ordinal)));
        Assert.EndsWith(",", lines.Single(l => l.StartsWith(lasts, StringComparison.Ordinal)));
        foreach (var file in new[] { Mama.Cli.UsersFile.Parse(text, jsonLines: false), Mama.Cli.UsersFile.Parse(await jsonl.Content.ReadAsStringAsync(), jsonLines: true) })
        {
            Assert.Empty(file.Refused);
            Assert.Equal(expiresAt, file.Users.Single(u => u.UserId == ends).ExpiresAt);
            Assert.Null(file.Users.Single(u => u.UserId == lasts).ExpiresAt);
        }
        var pasted = Mama.Components.Pages.Users.UserDrafts.Parse(text);
        Assert.Equal(expiresAt, pasted.Single(d => d.UserId == ends).ToRequest().ExpiresAt);
    }

    private async Task<List<(string Payload, JsonElement Data)>> ExpiringEventsAsync(string userId)
    {
        await using var db = app.NewDbContext();
        var rows = await db.WebhookEvents.Where(e => e.Type == WebhookEvents.KeyExpiring).OrderBy(e => e.CreatedAt).ThenBy(e => e.Id).Select(e => e.Payload).ToListAsync();
        return rows.Select(p => (p, JsonDocument.Parse(p).RootElement.GetProperty("data")))
            .Where(e => e.Item2.GetProperty("user_ids").EnumerateArray().Any(u => u.GetString() == userId)).ToList();
    }

    private static Task<HttpResponseMessage> Patch(HttpClient admin, string id, object body) =>
        admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users/" + id) { Content = JsonContent.Create(body, options: MamaJson.Options) });

    private static async Task<EditUsersResponse> PatchAsync(HttpClient admin, string id, object body) => await (await Patch(admin, id, body)).ReadAsync<EditUsersResponse>();

    private static async Task<HttpClient> SignInAsync(MamaHost host)
    {
        var client = host.CreateClient(new() { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = new("Bearer", (await MamaApp.TokenAsync(client, "admin", MamaApp.SuperAdminPassword)).AccessToken);
        return client;
    }

    /// <summary>On the test's own host: on SQLite each host caches rows it wrote itself.</summary>
    private static async Task<HttpClient> LookupClientAsync(MamaHost host, HttpClient admin)
    {
        var name = "client-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing", scope = "all" })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = host.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        return client;
    }
}

public sealed class KeyExpiryTestsOnSqlite(SqliteApp app) : KeyExpiryTests(app), IClassFixture<SqliteApp>;

public sealed class KeyExpiryTestsOnPostgres(PostgresApp app) : KeyExpiryTests(app), IClassFixture<PostgresApp>;
