using System.Net.Http.Json;
using Mama.Audit;
using Mama.Http;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Users;

/// <summary>
/// What the list's search matches: part of a user ID or organisation, ASCII in any case, wildcards and quotes as
/// typed. The same on both databases, and on SQLite whether the search reads through its trigram index or scans.
/// </summary>
public abstract class UserSearchTests(MamaApp app)
{
    internal static string Tag() => "se" + Guid.NewGuid().ToString("N")[..10];

    internal static async Task<List<string>> SearchAsync(HttpClient admin, string search) =>
        (await (await admin.GetAsync($"/api/v1/users?search={Uri.EscapeDataString(search)}&sort=user_id&page_size=500")).ReadAsync<UserPage>())
        .Items.Select(u => u.UserId).ToList();

    [Fact]
    public async Task ASearchMatchesPartOfAnIdOrOrganisationInAnyAsciiCaseAndTakesWildcardsAndQuotesAsTyped()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        var (kim, lee, under, plain) = ($"김철수-{tag}", $"lee-{tag}", $"park_{tag}", $"parkx{tag}");
        var longName = $"Ministry of {new string('0', 70)} {tag}";
        await admin.CreateUsersAsync([
            UserTestData.Row(kim, $"Seoul 개발팀 {tag}"), UserTestData.Row(lee, $"ACME {tag}"),
            UserTestData.Row(under, $"50% \"quoted\" {tag}"), UserTestData.Row(plain, longName),
        ]);

        Assert.Equal([lee], await SearchAsync(admin, $"LEE-{tag.ToUpperInvariant()}"));
        Assert.Equal([lee], await SearchAsync(admin, $"acme {tag}"));
        Assert.Equal([kim], await SearchAsync(admin, $"철수-{tag}"));
        Assert.Equal([kim], await SearchAsync(admin, $"개발팀 {tag}"));
        Assert.Equal([under], await SearchAsync(admin, $"park_{tag}"));
        Assert.Equal([under], await SearchAsync(admin, $"50% \"quoted\" {tag}"));
        Assert.Contains(under, await SearchAsync(admin, "\"quoted\""));
        Assert.Contains(kim, await SearchAsync(admin, "철수"));
        Assert.Equal(new[] { kim, lee, under, plain }.Order(StringComparer.Ordinal), await SearchAsync(admin, tag));
        Assert.Equal([plain], await SearchAsync(admin, longName.ToUpperInvariant()[3..]));
        Assert.Empty(await SearchAsync(admin, tag + "-none"));
        Assert.Empty(await SearchAsync(admin, $"park%{tag}"));
    }

    [Fact]
    public async Task ASearchFollowsAnOrganisationEditAndADelete()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        var ids = await admin.CreateUsersAsync(3, organization: $"before-{tag}");

        (await admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users") { Content = JsonContent.Create(new { user_ids = new[] { ids[0] }, organization = $"after-{tag}" }) }))
            .EnsureSuccessStatusCode();
        (await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = new[] { ids[1] } })).EnsureSuccessStatusCode();

        Assert.Equal([ids[0]], await SearchAsync(admin, $"after-{tag}"));
        Assert.Equal([ids[2]], await SearchAsync(admin, $"before-{tag}"));
    }

    [Fact]
    public async Task AFilterHoldingANulAsTheUsersPageMayPassItIsRefusedAsInvalidNotAnError()
    {
        // The API's door refuses a NUL in the query string; the users page calls the service with what was typed.
        var users = app.Host.Services.GetRequiredService<UserService>();
        var ct = TestContext.Current.CancellationToken;

        var search = await Assert.ThrowsAsync<ProblemException>(() => users.ListAsync(new UserQuery($"abc\0{Tag()}", null, null, null, null, null, null, null, null), Actor.System, ct));
        var organization = await Assert.ThrowsAsync<ProblemException>(() => users.ListAsync(new UserQuery(null, "acme\0", null, null, null, null, null, null, null), Actor.System, ct));

        Assert.Equal((400, "search"), (search.Status, Assert.Single(search.Errors!.Keys)));
        Assert.Equal((400, "organization"), (organization.Status, Assert.Single(organization.Errors!.Keys)));
    }
}

public sealed class UserSearchTestsOnSqlite(SqliteApp app) : UserSearchTests(app), IClassFixture<SqliteApp>;
public sealed class UserSearchTestsOnPostgres(PostgresApp app) : UserSearchTests(app), IClassFixture<PostgresApp>;

/// <summary>SQLite's trigram index for the search (<see cref="UserSearchIndex"/>): kept by triggers, and read for a search that finds few users.</summary>
public sealed class UserSearchIndexTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private async Task<(string UserId, string Organization)?> IndexedAsync(string userId)
    {
        await using var db = app.NewDbContext();
        var rows = await db.Database.SqlQuery<IndexRow>(
            $"""SELECT "UserId", "Organization" FROM "users_search" WHERE rowid = (SELECT "Id" FROM "users" WHERE "UserId" = {userId})""").ToListAsync();
        return rows.Count == 0 ? null : (rows.Single().UserId, rows.Single().Organization);
    }

    private sealed record IndexRow(string UserId, string Organization);

    private async Task ExecuteAsync(FormattableString sql)
    {
        await using var db = app.NewDbContext();
        await db.Database.ExecuteSqlAsync(sql, TestContext.Current.CancellationToken);
    }

    /// <summary>Takes the user's entry out of the index only: a search reading the index no longer finds it, a scan does.</summary>
    private Task DropFromIndexAsync(string userId) =>
        ExecuteAsync($"""DELETE FROM "users_search" WHERE rowid = (SELECT "Id" FROM "users" WHERE "UserId" = {userId})""");

    [Fact]
    public async Task TheIndexHoldsEachUsersIdAndOrganisationThroughCreateEditAndDelete()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = UserSearchTests.Tag();
        var ids = await admin.CreateUsersAsync(2, organization: $"before-{tag}");
        var created = await IndexedAsync(ids[0]);
        (await admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users") { Content = JsonContent.Create(new { user_ids = new[] { ids[0] }, organization = $"after-{tag}" }) }))
            .EnsureSuccessStatusCode();
        var edited = await IndexedAsync(ids[0]);
        var untouched = await IndexedAsync(ids[1]);
        await ExecuteAsync($"""DELETE FROM "users" WHERE "UserId" = {ids[1]}""");

        Assert.Equal((ids[0], $"before-{tag}"), created);
        Assert.Equal((ids[0], $"after-{tag}"), edited);
        Assert.Equal((ids[1], $"before-{tag}"), untouched);
        Assert.Null(await IndexedAsync(ids[1]));
    }

    [Fact]
    public async Task ASearchThatFindsFewUsersReadsOnlyThoseTheIndexHolds()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = UserSearchTests.Tag();
        // Few among many: 3 of at least 103 users (a search finding a sixteenth of all users or more scans instead).
        await admin.CreateUsersAsync(100, organization: $"other-{tag}");
        var ids = await admin.CreateUsersAsync(3, organization: $"few-{tag}");
        // One user's index entry removed: a scan would still find all three, the index two.
        await DropFromIndexAsync(ids[0]);
        var withoutOne = await UserSearchTests.SearchAsync(admin, $"few-{tag}");
        await ExecuteAsync($"""INSERT INTO "users_search" (rowid, "UserId", "Organization") SELECT "Id", "UserId", "Organization" FROM "users" WHERE "UserId" = {ids[0]}""");
        var restored = await UserSearchTests.SearchAsync(admin, $"few-{tag}");

        Assert.Equal(ids.Where(id => id != ids[0]).Order(StringComparer.Ordinal), withoutOne);
        Assert.Equal(ids.Order(StringComparer.Ordinal), restored);
    }

    [Fact]
    public async Task ASearchRepeatingATrigramStillMatchesAsLikeThroughTheIndex()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = UserSearchTests.Tag();
        await admin.CreateUsersAsync(100, organization: $"other-{tag}");
        var run = await admin.CreateUsersAsync(2, organization: $"x aaaa{tag}");
        // Every trigram of the search, but never four 'a's in a row: the index finds it, LIKE does not.
        await admin.CreateUsersAsync(1, organization: $"aaa {tag} aa{tag}");
        var search = $"AAAA{tag.ToUpperInvariant()}";
        var found = await UserSearchTests.SearchAsync(admin, search);
        await DropFromIndexAsync(run[0]);

        Assert.Equal(run.Order(StringComparer.Ordinal), found);
        Assert.Equal([run[1]], await UserSearchTests.SearchAsync(admin, search));
    }

    [Theory]
    [InlineData("acme", "\"acme\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("baaaaaab", "\"baa\" AND \"aaa\" AND \"aab\"")]
    [InlineData("AaAaAa", "\"AaA\"")]
    [InlineData("a\"a\"a", "\"a\"\"a\" AND \"\"\"a\"\"\"")]
    [InlineData("김김김김", "\"김김김\"")]
    public void ARepeatedTrigramIsAskedOfTheIndexOnce(string search, string expression) =>
        Assert.Equal(expression, UserSearchIndex.MatchExpression(search));
}
