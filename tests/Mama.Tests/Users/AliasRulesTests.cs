using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

/// <summary>User IDs become key aliases: IDs the proxy would refuse are refused before anything is written or sent.</summary>
public abstract class AliasRulesTests(MamaApp app)
{
    private const string Pattern = "team-[a-z]+";

    [Theory]
    [InlineData("team..a")]
    [InlineData("..")]
    [InlineData("a...b")]
    public async Task AUserIdWithTwoDotsIsRefusedWith400AndNothingIsCreatedOrSent(string bad)
    {
        using var admin = await app.SuperAdminAsync();
        var good = UserTestData.NewId();

        var response = await admin.PostAsJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(good), UserTestData.Row(bad) } });

        var problem = await AssertProblemAsync(response);
        Assert.Contains("'..'", problem.GetProperty("errors").GetProperty("users[1].user_id")[0].GetString());
        await AssertNothingCreatedAsync(good, bad);
    }

    [Fact]
    public async Task WithAnAliasPatternAUserIdThatDoesNotMatchWhollyIsRefusedNamingThePatternAndNothingIsCreatedOrSent()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["LiteLlm:KeyAliasPattern"] = Pattern });
        using var admin = await SignInAsync(host);
        var good = "team-" + new string(Guid.NewGuid().ToString("N").Where(char.IsLetter).ToArray());
        var partial = good + "-2"; // matches "team-[a-z]+" only in part

        var refused = await admin.PostAsJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(good), UserTestData.Row(partial) } });

        var problem = await AssertProblemAsync(refused);
        var error = problem.GetProperty("errors").GetProperty("users[1].user_id")[0].GetString()!;
        Assert.Contains("LiteLlm:KeyAliasPattern", error);
        Assert.Contains(Pattern, error);
        await AssertNothingCreatedAsync(good, partial);

        var created = await admin.PostAsJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(good) } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.NotNull(app.LiteLlm.FindKeyByAlias(good));
    }

    [Fact]
    public async Task AnExistingUserWhoseIdHasTwoDotsCanStillBeAddressedAndDeleted()
    {
        using var admin = await app.SuperAdminAsync();
        var legacy = "old..user-" + Guid.NewGuid().ToString("N")[..8];
        var created = await admin.PostAsJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(UserTestData.NewId()) } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await using (var db = app.NewDbContext())
        {
            // A user made before the rule, by an older mama.
            var user = await db.KeyUsers.OrderByDescending(u => u.Id).FirstAsync(TestContext.Current.CancellationToken);
            await db.KeyUsers.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.UserId, legacy), TestContext.Current.CancellationToken);
        }

        var deleted = await admin.PostAsJsonAsync("/api/v1/users/delete", new { user_ids = new[] { legacy } });

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
    }

    [Theory]
    [InlineData("team-search", null, null)]
    [InlineData("team..search", null, DraftProblem.InvalidUserId)]
    [InlineData("team-search", Pattern, null)]
    [InlineData("team-search-2", Pattern, DraftProblem.AliasPattern)]
    [InlineData("Team-search", Pattern, DraftProblem.AliasPattern)]
    public void TheAddUsersDialogChecksTheSameRules(string id, string? pattern, DraftProblem? expected)
    {
        var checks = UserDrafts.Check([new UserDraft { UserId = id }], servedModels: null, pattern);

        Assert.Equal(expected, checks.SingleOrDefault()?.Problem);
    }

    private async Task<HttpClient> SignInAsync(MamaHost host)
    {
        var client = host.CreateClient(new() { AllowAutoRedirect = false });
        var token = await MamaApp.TokenAsync(client, "admin", MamaApp.SuperAdminPassword);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        return client;
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private async Task AssertNothingCreatedAsync(params string[] ids)
    {
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => ids.Contains(u.UserId), TestContext.Current.CancellationToken));
        Assert.DoesNotContain(app.LiteLlm.Calls.Snapshot(), c => ids.Contains(c.KeyAlias));
        Assert.DoesNotContain(app.LiteLlm.GetKeys(), k => ids.Contains(k.KeyAlias));
    }
}

public sealed class AliasRulesTestsOnSqlite(SqliteApp app) : AliasRulesTests(app), IClassFixture<SqliteApp>;

public sealed class AliasRulesTestsOnPostgres(PostgresApp app) : AliasRulesTests(app), IClassFixture<PostgresApp>;
