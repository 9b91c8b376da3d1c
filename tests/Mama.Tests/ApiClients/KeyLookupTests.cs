using System.Net;
using System.Net.Http.Json;
using System.Text;
using Mama.ApiClients;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.ApiClients;

public abstract class KeyLookupTests(MamaApp app)
{
    [Fact]
    public async Task LookupsReturnExactlyTheKeysLiteLlmHoldsAndListUnknownIdsAsNotFound()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3, services: ["billing"]);
        using var client = await NewClientAsync(admin, "all");
        var ghost = UserTestData.NewId("ghost");

        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids.Append(ghost) })).ReadAsync<LookupResponse>();

        Assert.Equal(ids, found.Users.Select(u => u.UserId));
        Assert.All(found.Users, u => Assert.Equal(app.LiteLlm.FindKeyByAlias(u.UserId)!.Key, u.Key));
        Assert.All(found.Users, u => Assert.Equal(("acme", "synced"), (u.Organization, u.SyncState)));
        Assert.Equal([ghost], found.NotFound);
        Assert.Empty(found.Denied);
    }

    [Fact]
    public async Task AServiceScopedClientIsDeniedUsersOutsideItsService()
    {
        using var admin = await app.SuperAdminAsync();
        var billing = await admin.CreateUsersAsync(2, services: ["billing"]);
        var search = await admin.CreateUsersAsync(2, services: ["search"]);
        using var client = await NewClientAsync(admin, "service", "billing");

        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = billing.Concat(search) })).ReadAsync<LookupResponse>();

        Assert.Equal(billing, found.Users.Select(u => u.UserId));
        Assert.Equal(search, found.Denied);
        await (await client.GetAsync($"/api/v1/keys/{search[0]}")).AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(app.LiteLlm.FindKeyByAlias(billing[0])!.Key, (await (await client.GetAsync($"/api/v1/keys/{billing[0]}")).ReadAsync<LookedUpUser>()).Key);
        await (await client.GetAsync("/api/v1/keys/nobody-at-all")).AssertProblemAsync(HttpStatusCode.NotFound);
        await using var db = app.NewDbContext();
        var events = await db.AuditEvents.Where(e => e.Actor == "api:" + ClientName(client)).ToListAsync();
        Assert.Contains(events, e => e.Result == Mama.Audit.AuditResult.Denied && e.UserIds.Contains(search[0]));
    }

    [Fact]
    public async Task TheCompatibilityEndpointsOfTheEarlierMamaKeepWorking()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(2, services: ["billing"]);
        using var client = await NewClientAsync(admin, "all");
        var token = client.DefaultRequestHeaders.GetValues("X-API-Key").Single();
        using var legacy = app.CreateClient();
        legacy.DefaultRequestHeaders.Add("x-api-key", token);

        var many = await (await legacy.PostAsJsonAsync("/key/info", new { user_ids = ids })).Content.ReadFromJsonAsync<List<Dictionary<string, string>>>();
        var one = await (await legacy.GetAsync($"/key/{ids[0]}")).Content.ReadFromJsonAsync<Dictionary<string, string>>();

        Assert.Equal(ids, many!.Select(r => r["user_id"]));
        Assert.Equal(app.LiteLlm.FindKeyByAlias(ids[1])!.Key, many![1]["user_key"]);
        Assert.Equal(app.LiteLlm.FindKeyByAlias(ids[0])!.Key, one!["key"]);
    }

    [Fact]
    public async Task ARevokedGarbledOrMissingTokenAndAnAdminsTokenGet401()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        using var client = await NewClientAsync(admin, "all");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/keys/{id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/api-clients/{ClientName(client)}")).StatusCode);

        await (await client.GetAsync($"/api/v1/keys/{id}")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var garbled = app.CreateClient();
        garbled.DefaultRequestHeaders.Add("X-API-Key", "mama_garbage");
        await (await garbled.GetAsync($"/api/v1/keys/{id}")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var none = app.CreateClient();
        await (await none.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { id } })).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await admin.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { id } })).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ALookupAfterAChangeSeesTheChange()
    {
        // On SQLite lookups keep rows in memory; every kind of write must reach them.
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3, models: ["gpt-4o"], services: ["billing"]);
        using var client = await NewClientAsync(admin, "service", "billing");
        async Task<LookupResponse> LookupAsync() =>
            await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids })).ReadAsync<LookupResponse>();
        Assert.Equal(ids, (await LookupAsync()).Users.Select(u => u.UserId));

        await admin.EditAsync([ids[0]], models: new { mode = "add", values = new[] { "gpt-4o-mini" } });
        await admin.EditAsync([ids[1]], services: new { mode = "replace", values = new[] { "search" } });
        await using (var db = app.NewDbContext())
            await db.KeyUsers.Where(u => u.UserId == ids[2]).ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncState, SyncState.Error));
        var after = await LookupAsync();

        Assert.Equal(["gpt-4o", "gpt-4o-mini"], after.Users.Single(u => u.UserId == ids[0]).AllowedModels);
        Assert.Equal([ids[1]], after.Denied);
        Assert.Equal("error", after.Users.Single(u => u.UserId == ids[2]).SyncState);

        Assert.True((await admin.DeleteAsync($"/api/v1/users/{ids[0]}")).IsSuccessStatusCode);
        Assert.Equal([ids[0]], (await LookupAsync()).NotFound);
    }

    [Fact]
    public async Task ABurstOf1000ConcurrentLookupsWritesExactly1000LookupEvents()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(5, services: ["billing"]);
        using var client = await NewClientAsync(admin, "all");
        var actor = "api:" + ClientName(client);

        var responses = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i =>
            client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { ids[i % ids.Count] } })));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await using var db = app.NewDbContext();
        Assert.Equal(1000, await db.AuditEvents.CountAsync(e => e.Actor == actor && e.Action == "key.lookup"));
    }

    public static TheoryData<string, HttpStatusCode> BadLookups => new()
    {
        { "{\"user_ids\": [" + string.Join(",", Enumerable.Range(0, 1001).Select(i => $"\"u{i}\"")) + "]}", HttpStatusCode.BadRequest },
        { "{\"user_ids\": []}", HttpStatusCode.BadRequest },
        { "{\"user_ids\": [\"a\", \"a\"]}", HttpStatusCode.BadRequest },
        { "{\"user_ids\": [\"no  double  spaces\"]}", HttpStatusCode.BadRequest },
        { "{\"user_ids\": [\"semi;colon\"]}", HttpStatusCode.BadRequest },
        { "{\"user_ids\": \"a\"}", HttpStatusCode.BadRequest },
        { "{\"user_ids\": [1, 2]}", HttpStatusCode.BadRequest },
        { "{\"user_ids\": [\"a\"", HttpStatusCode.BadRequest },
        { "{\"user_ids\": [\"" + new string('a', 2 * 1024 * 1024) + "\"]}", HttpStatusCode.RequestEntityTooLarge },
    };

    [Theory]
    [MemberData(nameof(BadLookups))]
    public async Task BadLookupInputIsA4xxProblem(string body, HttpStatusCode status)
    {
        using var admin = await app.SuperAdminAsync();
        using var client = await NewClientAsync(admin, "all");

        var response = await client.PostAsync("/api/v1/keys/lookup", new StringContent(body, Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(status);
    }

    [Fact]
    public async Task ClientsAreListedWithoutTokensAndOnlySuperAdminsManageThem()
    {
        using var admin = await app.SuperAdminAsync();
        using var client = await NewClientAsync(admin, "service", "billing");
        var token = client.DefaultRequestHeaders.GetValues("X-API-Key").Single();

        var raw = await (await admin.GetAsync("/api/v1/api-clients")).Content.ReadAsStringAsync();
        Assert.Contains(ClientName(client), raw);
        Assert.DoesNotContain(token, raw);
        await using (var db = app.NewDbContext())
        {
            Assert.DoesNotContain(token, string.Join("|", await db.ApiClients.Select(c => c.TokenHash).ToListAsync()));
            Assert.DoesNotContain(token, string.Join("|", await db.AuditEvents.Select(e => e.Detail).ToListAsync()));
        }
        var (_, _, plain) = await app.NewAdminAsync();
        await (await plain.PostJsonAsync("/api/v1/api-clients", new { name = "x", service = "y", scope = "all" })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = ClientName(client), service = "y" })).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = "bad name!", service = "", scope = "some" })).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task AnAnswerSentInManyFlushesIsWhatTheApisJsonWritesWhetherTheRowsWereCachedOrNot()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = Enumerable.Range(0, 40).Select(_ => UserTestData.NewId("큰")).ToList();
        // Short extra info for half of them (their cached rows keep their JSON), the longest there can be for the others.
        string ExtraInfo(int i) => new('가', i % 2 == 0 ? 200 - i : UserValidation.MaxExtraInfo - i);
        await admin.CreateUsersAsync(ids.Select((id, i) => UserTestData.Row(id, "조직 \"<acme>\"", extraInfo: ExtraInfo(i))));
        using var client = await NewClientAsync(admin, "all");
        var ghost = UserTestData.NewId("ghost");

        // About 0.5 MB (each Hangul letter is escaped in six bytes): written in many flushes. The second answer is built
        // from the rows the first one cached (SQLite, unless a background write to users cleared them meanwhile), some with
        // their users' JSON kept; PostgreSQL writes every user again. LookupJsonTests compares kept JSON directly.
        foreach (var _ in new[] { "read", "cached" })
        {
            using var response = await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids.Append(ghost) });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
            var body = await response.Content.ReadAsStringAsync();
            var found = System.Text.Json.JsonSerializer.Deserialize<LookupResponse>(body, Mama.Http.MamaJson.Options)!;
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(found, Mama.Http.MamaJson.Options), body);
            Assert.Equal(ids, found.Users.Select(u => u.UserId));
            Assert.Equal(ids.Select((_, i) => ExtraInfo(i)), found.Users.Select(u => u.ExtraInfo));
            Assert.All(found.Users, u => Assert.Equal(app.LiteLlm.FindKeyByAlias(u.UserId)!.Key, u.Key));
            Assert.Equal([ghost], found.NotFound);

            var one = await (await client.GetAsync($"/api/v1/keys/{Uri.EscapeDataString(ids[1])}")).Content.ReadAsStringAsync();
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(found.Users[1], Mama.Http.MamaJson.Options), one);
        }
    }

    private async Task<HttpClient> NewClientAsync(HttpClient admin, string scope, string service = "billing")
    {
        var name = "client-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service, scope })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        Assert.StartsWith("mama_", created.Token);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        client.DefaultRequestHeaders.Add("X-Test-Client", name);
        return client;
    }

    private static string ClientName(HttpClient client) => client.DefaultRequestHeaders.GetValues("X-Test-Client").Single();
}

public sealed class KeyLookupTestsOnSqlite(SqliteApp app) : KeyLookupTests(app), IClassFixture<SqliteApp>;
public sealed class KeyLookupTestsOnPostgres(PostgresApp app) : KeyLookupTests(app), IClassFixture<PostgresApp>;
