using System.Net;
using System.Text.Json;
using Mama.ApiClients;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

/// <summary>Creating users with a key they already have: kept encrypted, never echoed, audited as supplied.</summary>
public abstract class ExistingKeyTests(MamaApp app)
{
    [Fact]
    public async Task AUserCreatedWithAKeyGetsThatKeyOnTheProxyAndInLookupsButNeverInAnAnswerOrTheAudit()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var key = PlantedKeys.NewKey();

        var response = await admin.PostJsonAsync("/api/v1/users", new { users = new[] { new { user_id = id, allowed_models = new[] { "gpt-4o" }, key } } });

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.DoesNotContain(key, body);
        Assert.Equal(key, app.LiteLlm.FindKeyByAlias(id)!.Key);
        await using (var db = app.NewDbContext())
        {
            var user = await db.KeyUsers.SingleAsync(u => u.UserId == id);
            Assert.Equal(LiteLlmClient.HashKey(key), user.KeyHash);
            Assert.NotNull(user.KeyLiveAt);
            var created = await db.AuditEvents.SingleAsync(e => e.Action == "user.create" && e.UserIds.Contains(" " + id + " "));
            Assert.True(JsonDocument.Parse(created.Detail).RootElement.GetProperty("key_supplied").GetBoolean());
            Assert.DoesNotContain(key, created.Detail);
        }
        var (client, _) = await app.NewLookupClientAsync(admin);
        var found = await (await client.GetAsync($"/api/v1/keys/{id}")).ReadAsync<LookedUpUser>();
        Assert.Equal((key, true), (found.Key, found.Usable));
    }

    public static TheoryData<string, string> BadKeys => new()
    {
        { "pk-no-sk-prefix-0123456789", "start with 'sk-'" },
        { "sk-short", "at least 16" },
        { "sk-has a space-0123456789", "spaces" },
        { "sk-control\u0001-0123456789", "control" },
        { "sk-tab\t-0123456789abcdef", "spaces" },
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task ABadKeyIsRefusedWithA400ThatDoesNotQuoteItAndNothingIsCreated(string key, string why)
    {
        using var admin = await app.SuperAdminAsync();
        var ids = new[] { UserTestData.NewId(), UserTestData.NewId() };

        var response = await admin.PostJsonAsync("/api/v1/users", new { users = new object[] { UserTestData.Row(ids[0]), new { user_id = ids[1], key } } });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(why, problem.GetProperty("errors").GetProperty("users[1].key")[0].GetString());
        Assert.DoesNotContain(key, problem.GetRawText());
        await AssertNothingCreatedAsync(ids, key);
    }

    [Fact]
    public async Task AKeyGivenTwiceInARequestOrHeldByAnotherUserIsRefused()
    {
        using var admin = await app.SuperAdminAsync();
        var key = PlantedKeys.NewKey();
        var twice = new[] { UserTestData.NewId(), UserTestData.NewId() };

        var problem = await (await admin.PostJsonAsync("/api/v1/users", new { users = twice.Select(id => new { user_id = id, key }) })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("users[1].key", out _));
        await AssertNothingCreatedAsync(twice, key);

        var first = UserTestData.NewId();
        await admin.CreateUsersAsync([new { user_id = first, allowed_models = new[] { "gpt-4o" }, key }]);
        var second = UserTestData.NewId();
        var taken = await (await admin.PostJsonAsync("/api/v1/users", new { users = new[] { new { user_id = second, key } } })).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("Another user already has this key", taken.GetRawText());
        Assert.DoesNotContain(key, taken.GetRawText());
        await AssertNothingCreatedAsync([second], key);
    }

    private async Task AssertNothingCreatedAsync(IReadOnlyList<string> ids, string key)
    {
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => ids.Contains(u.UserId)));
        Assert.DoesNotContain(app.LiteLlm.GetKeys(), k => ids.Contains(k.KeyAlias));
        var failures = await db.AuditEvents.Where(e => e.Action == "user.create" && e.UserIds.Contains(" " + ids[0] + " ")).ToListAsync();
        Assert.All(failures, e => Assert.DoesNotContain(key, e.Detail + e.Reason));
    }
}

public sealed class ExistingKeyTestsOnSqlite(SqliteApp app) : ExistingKeyTests(app), IClassFixture<SqliteApp>;
public sealed class ExistingKeyTestsOnPostgres(PostgresApp app) : ExistingKeyTests(app), IClassFixture<PostgresApp>;
