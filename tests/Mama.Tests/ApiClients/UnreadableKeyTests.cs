using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mama.ApiClients;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.ApiClients;

public abstract class UnreadableKeyTests(MamaApp app)
{
    [Fact]
    public async Task AKeyThatDoesNotDecryptIsReportedAsFailedWhileTheRestOfTheLookupIsAnswered()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3, services: ["billing"]);
        using var client = await NewClientAsync(admin);
        Assert.Equal(ids, (await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids })).ReadAsync<LookupResponse>()).Users.Select(u => u.UserId));

        await TamperAsync(ids[1]);
        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids })).ReadAsync<LookupResponse>();

        Assert.Equal([ids[0], ids[2]], found.Users.Select(u => u.UserId));
        Assert.Equal(app.LiteLlm.FindKeyByAlias(ids[2])!.Key, found.Users[1].Key);
        Assert.Equal([new LookupFailure(ids[1], "key_unreadable")], found.Failed);
        Assert.Empty(found.NotFound);
        Assert.Empty(found.Denied);
        await using var db = app.NewDbContext();
        var lookup = await db.AuditEvents.Where(e => e.Action == "key.lookup" && e.UserIds.Contains(" " + ids[1] + " ")).OrderByDescending(e => e.Id).FirstAsync();
        var detail = JsonDocument.Parse(lookup.Detail).RootElement;
        Assert.Equal([ids[1]], detail.GetProperty("failed").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([ids[0], ids[2]], detail.GetProperty("returned").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal((Mama.Audit.AuditResult.Success, 200), (lookup.Result, lookup.StatusCode));
    }

    [Fact]
    public async Task TheSingleKeyEndpointsAndTheAdminReadAnswer409ForAnUnreadableKeyAndTheLegacyListLeavesItOut()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(2, services: ["billing"]);
        using var client = await NewClientAsync(admin);
        await TamperAsync(ids[0]);

        var one = await (await client.GetAsync($"/api/v1/keys/{ids[0]}")).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("key_unreadable", one.GetProperty("reason").GetString());
        await (await client.GetAsync($"/key/{ids[0]}")).AssertLegacyErrorAsync(HttpStatusCode.Conflict);
        await (await admin.GetAsync($"/api/v1/users/{ids[0]}")).AssertProblemAsync(HttpStatusCode.Conflict);
        var legacy = await (await client.PostAsJsonAsync("/key/info", new { user_ids = ids })).ReadAsync<List<CompatKey>>();
        Assert.Equal([ids[1]], legacy.Select(k => k.UserId));

        await using var db = app.NewDbContext();
        var events = await db.AuditEvents.Where(e => e.UserIds == " " + ids[0] + " ").ToListAsync();
        Assert.Contains(events, e => e.Action == "key.lookup" && e.StatusCode == 409 && e.Result == Mama.Audit.AuditResult.Failure);
        Assert.Contains(events, e => e.Action == "user.read_key" && e.StatusCode == 409 && e.Reason == "key_unreadable");
    }

    /// <summary>Flips a byte of the stored ciphertext, through the app's own context so the lookup cache sees the write.</summary>
    private async Task TamperAsync(string userId)
    {
        await using var db = app.NewDbContext();
        var user = await db.KeyUsers.SingleAsync(u => u.UserId == userId);
        var damaged = user.KeyCiphertext.ToArray();
        damaged[^1] ^= 0x5a;
        user.KeyCiphertext = damaged;
        await db.SaveChangesAsync();
    }

    private async Task<HttpClient> NewClientAsync(HttpClient admin)
    {
        var name = "client-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing", scope = "service" })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        return client;
    }
}

public sealed class UnreadableKeyTestsOnSqlite(SqliteApp app) : UnreadableKeyTests(app), IClassFixture<SqliteApp>;
public sealed class UnreadableKeyTestsOnPostgres(PostgresApp app) : UnreadableKeyTests(app), IClassFixture<PostgresApp>;
