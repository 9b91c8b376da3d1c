using System.Net;
using System.Net.Http.Json;
using System.Text;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

/// <summary>User IDs of any script (Korean, with spaces) through the API, the key lookups, the proxy and the audit log.</summary>
public abstract class UnicodeUserIdTests(MamaApp app)
{
    [Fact]
    public async Task KoreanUsersAreCreatedListedSearchedSortedEditedAndDeletedAndTheProxyHoldsTheirIdsAsAliases()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        string hong = "홍길동" + tag, kim = "김 민지 " + tag;

        var created = await admin.CreateUsersAsync([UserTestData.Row(hong), UserTestData.Row(kim)]);

        Assert.Equal([hong, kim], created.Users.Select(u => u.UserId));
        Assert.Equal(["synced", "synced"], created.Sync.Select(s => s.State));
        Assert.NotNull(app.LiteLlm.FindKeyByAlias(hong));
        Assert.NotNull(app.LiteLlm.FindKeyByAlias(kim));

        var ascending = await (await admin.GetAsync($"/api/v1/users?search={Uri.EscapeDataString(tag)}&sort=user_id")).ReadAsync<UserPage>();
        Assert.Equal([kim, hong], ascending.Items.Select(u => u.UserId)); // 김 (U+AE40) before 홍 (U+D64D)
        var descending = await (await admin.GetAsync($"/api/v1/users?search={Uri.EscapeDataString(tag)}&sort=user_id&order=desc")).ReadAsync<UserPage>();
        Assert.Equal([hong, kim], descending.Items.Select(u => u.UserId));
        var bySpace = await (await admin.GetAsync($"/api/v1/users?search={Uri.EscapeDataString("민지 " + tag)}")).ReadAsync<UserPage>();
        Assert.Equal([kim], bySpace.Items.Select(u => u.UserId));

        var one = await (await admin.GetAsync(UserUrl(kim))).ReadAsync<UserResponse>();
        Assert.Equal(app.LiteLlm.FindKeyByAlias(kim)!.Key, one.Key);

        var edited = await (await admin.PatchAsJsonAsync(UserUrl(kim), new { organization = "개발팀" })).ReadAsync<EditUsersResponse>();
        Assert.Equal(kim, Assert.Single(edited.Changed).UserId);
        Assert.Equal("개발팀", Assert.Single(edited.Users).Organization);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(UserUrl(kim))).StatusCode);
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(kim) is null), "the proxy key of the deleted user is gone");
        Assert.NotNull(app.LiteLlm.FindKeyByAlias(hong));
        await (await admin.GetAsync(UserUrl(kim))).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task KoreanUsersKeysAreLookedUpByPercentEncodedIdOnBothKeyEndpointsAlsoWhenSentDecomposed()
    {
        using var admin = await app.SuperAdminAsync();
        var kim = "김 민지 " + Tag();
        await admin.CreateUsersAsync([UserTestData.Row(kim, services: ["billing"])]);
        var key = app.LiteLlm.FindKeyByAlias(kim)!.Key;
        using var client = await NewApiClientAsync(admin);

        foreach (var id in new[] { kim, kim.Normalize(NormalizationForm.FormD) })
        {
            var path = Uri.EscapeDataString(id);
            Assert.Equal(key, (await (await client.GetAsync($"/api/v1/keys/{path}")).ReadAsync<LookedUpUser>()).Key);
            Assert.Equal(key, (await (await client.GetAsync($"/key/{path}")).ReadAsync<CompatSingleKey>()).Key);
            var many = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { id } })).ReadAsync<LookupResponse>();
            Assert.Equal(kim, Assert.Single(many.Users).UserId);
            var legacy = await (await client.PostJsonAsync("/key/info", new { user_ids = new[] { id } })).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
            Assert.Equal(key, legacy[0].GetProperty("user_key").GetString());
        }
    }

    [Fact]
    public async Task AnIdSentDecomposedIsStoredComposedAndADecomposedAndComposedPairInOneRequestIsADuplicate()
    {
        using var admin = await app.SuperAdminAsync();
        var hong = "홍길동 José " + Tag();
        var decomposed = hong.Normalize(NormalizationForm.FormD);

        var twice = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(hong), UserTestData.Row(decomposed) } });

        var problem = await twice.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("more than once", problem.GetProperty("errors").GetProperty("users[1].user_id")[0].GetString());
        await AssertNothingCreatedAsync(hong, decomposed);

        var created = await admin.CreateUsersAsync([UserTestData.Row(decomposed)]);

        Assert.Equal(hong, Assert.Single(created.Users).UserId);
        await using var db = app.NewDbContext();
        Assert.Equal([hong], await db.KeyUsers.Where(u => u.UserId == hong || u.UserId == decomposed).Select(u => u.UserId).ToListAsync(TestContext.Current.CancellationToken));
        Assert.NotNull(app.LiteLlm.FindKeyByAlias(hong));
        Assert.Null(app.LiteLlm.FindKeyByAlias(decomposed));
        Assert.Equal(hong, (await (await admin.GetAsync(UserUrl(decomposed))).ReadAsync<UserResponse>()).UserId);
        var again = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(decomposed) } });
        await again.AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task AnIdOf128HangulSyllablesFitsAndOneOf129IsRefused()
    {
        using var admin = await app.SuperAdminAsync();
        var longest = (Tag() + new string('가', 128))[..128];

        var created = await admin.CreateUsersAsync([UserTestData.Row(longest)]);

        Assert.Equal(longest, Assert.Single(created.Users).UserId);
        var tooLong = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(longest + "가") } });
        Assert.Contains("129", (await tooLong.AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("users[0].user_id")[0].GetString());
    }

    [Theory]
    [InlineData(" 홍길동")]
    [InlineData("홍길동 ")]
    [InlineData("김  민지")]
    [InlineData("김\u200B민지")]
    [InlineData("김\u202E민지")]
    [InlineData("김/민지")]
    [InlineData("김..민지")]
    public async Task IdsThatAreNotUserIdsAreRefusedWith400AndNothingIsCreatedOrSent(string bad)
    {
        using var admin = await app.SuperAdminAsync();
        var good = "홍길동 " + Tag();

        var response = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(good), UserTestData.Row(bad) } });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("users[1].user_id", out _));
        await AssertNothingCreatedAsync(good, bad);
    }

    [Fact]
    public async Task TheAuditFilterByAUserIdWithSpacesFindsThatUsersEventsAndNotThoseOfAnIdItEndsWith()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        string kim = "김 민지 " + tag, minji = "민지 " + tag;
        await admin.CreateUsersAsync([UserTestData.Row(kim)]);
        await admin.CreateUsersAsync([UserTestData.Row(minji)]);

        var ofMinji = await (await admin.GetAsync($"/api/v1/audit?user_id={Uri.EscapeDataString(minji)}")).ReadAsync<AuditPage>();
        var ofKim = await (await admin.GetAsync($"/api/v1/audit?user_id={Uri.EscapeDataString(kim.Normalize(NormalizationForm.FormD))}")).ReadAsync<AuditPage>();

        Assert.Equal([minji], Assert.Single(ofMinji.Items, e => e.Action == "user.create").UserIds);
        Assert.All(ofMinji.Items, e => Assert.Contains(minji, e.UserIds));
        Assert.Equal([kim], Assert.Single(ofKim.Items, e => e.Action == "user.create").UserIds);
        Assert.All(ofKim.Items, e => Assert.Contains(kim, e.UserIds));
        await (await admin.GetAsync($"/api/v1/audit?user_id={Uri.EscapeDataString("김/민지")}")).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    /// <summary>Four random Hangul syllables: IDs that no other test's rows share.</summary>
    private static string Tag() => new(Enumerable.Range(0, 4).Select(_ => (char)Random.Shared.Next(0xAC00, 0xD7A4)).ToArray());

    private static string UserUrl(string id) => "/api/v1/users/" + Uri.EscapeDataString(id);

    private async Task<HttpClient> NewApiClientAsync(HttpClient admin)
    {
        var name = "client-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing", scope = "all" })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        return client;
    }

    private async Task AssertNothingCreatedAsync(params string[] ids)
    {
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => ids.Contains(u.UserId), TestContext.Current.CancellationToken));
        Assert.DoesNotContain(app.LiteLlm.Calls.Snapshot(), c => ids.Contains(c.KeyAlias));
        Assert.DoesNotContain(app.LiteLlm.GetKeys(), k => ids.Contains(k.KeyAlias));
    }
}

public sealed class UnicodeUserIdTestsOnSqlite(SqliteApp app) : UnicodeUserIdTests(app), IClassFixture<SqliteApp>;

public sealed class UnicodeUserIdTestsOnPostgres(PostgresApp app) : UnicodeUserIdTests(app), IClassFixture<PostgresApp>;
