using System.Net;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

public abstract class UsersApiTests(MamaApp app)
{
    [Fact]
    public async Task Creating50UsersInOneCallGives50KeysInLiteLlmWithAliasModelsAndTheMamaMarker()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = Enumerable.Range(0, 50).Select(_ => UserTestData.NewId()).ToList();

        var created = await admin.CreateUsersAsync(ids.Select(id => UserTestData.Row(id, "acme", ["gpt-4o", "claude-sonnet-4"])));

        Assert.Equal(ids, created.Users.Select(u => u.UserId));
        Assert.All(created.Sync, s => Assert.Equal("synced", s.State));
        Assert.All(created.Users, u => Assert.Matches(@"^sk-….{4}$", u.KeyPreview));
        var keys = app.LiteLlm.GetKeys().Where(k => ids.Contains(k.KeyAlias!)).ToList();
        Assert.Equal(50, keys.Count);
        foreach (var key in keys)
        {
            Assert.Equal(["claude-sonnet-4", "gpt-4o"], key.Models.Order());
            Assert.Equal("mama", key.Metadata["managed_by"]!.GetValue<string>());
            Assert.Equal("acme", key.Metadata["organization"]!.GetValue<string>());
            Assert.False(key.Blocked);
            Assert.Matches("^sk-[A-Za-z0-9_-]{32,}$", key.Key!);
        }
        await using var db = app.NewDbContext();
        Assert.Equal(50, await db.AuditEvents.CountAsync(e => e.Action == "user.create" && e.Result == AuditResult.Success && ids.Any(id => e.UserIds == " " + id + " ")));
    }

    public static TheoryData<string, string> BadRows => new()
    {
        { "existing", "user_id" },
        { "invalid id", "user_id" },
        { "unknown model", "allowed_models" },
        { "duplicate in request", "user_id" },
        { "extra info too long", "extra_info" },
    };

    [Theory]
    [MemberData(nameof(BadRows))]
    public async Task ABatchWithOneBadRowCreatesNothingAndNamesTheRow(string problem, string field)
    {
        using var admin = await app.SuperAdminAsync();
        var existing = (await admin.CreateUsersAsync(1))[0];
        var good = Enumerable.Range(0, 3).Select(_ => UserTestData.NewId()).ToList();
        var rows = good.Select(id => UserTestData.Row(id)).ToList();
        rows.Insert(2, problem switch
        {
            "existing" => UserTestData.Row(existing),
            "invalid id" => UserTestData.Row("bad id/with spaces"),
            "unknown model" => UserTestData.Row(UserTestData.NewId(), models: ["gpt-4o", "no-such-model"]),
            "duplicate in request" => UserTestData.Row(good[0]),
            _ => UserTestData.Row(UserTestData.NewId(), extraInfo: new string('x', 4001)),
        });
        var keysBefore = app.LiteLlm.GetKeys().Count;

        var response = await admin.PostJsonAsync("/api/v1/users", new { users = rows });

        var body = await response.AssertProblemAsync(problem == "existing" ? HttpStatusCode.Conflict : HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty($"users[2].{field}", out _), body.ToString());
        await using var db = app.NewDbContext();
        Assert.Equal(0, await db.KeyUsers.CountAsync(u => good.Contains(u.UserId)));
        Assert.Equal(keysBefore, app.LiteLlm.GetKeys().Count);
    }

    [Fact]
    public async Task UnknownModelsAreAcceptedWhenAskedAndSpecialNamesAlways()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        await admin.CreateUsersAsync([UserTestData.Row(id, models: ["all-team-models", "future-model"])], allowUnknownModels: true);
        Assert.Equal(["all-team-models", "future-model"], app.LiteLlm.FindKeyByAlias(id)!.Models.Order());
    }

    [Theory]
    [InlineData("replace", new[] { "gpt-4o-mini" }, new[] { "gpt-4o-mini" })]
    [InlineData("add", new[] { "gpt-4o-mini" }, new[] { "gpt-4o", "gpt-4o-mini", "text-embedding-3-small" })]
    [InlineData("remove", new[] { "gpt-4o" }, new[] { "text-embedding-3-small" })]
    public async Task EditingModelsOf10UsersAtOnceLeavesTheDatabaseAndLiteLlmInAgreement(string mode, string[] values, string[] expected)
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(10, models: ["gpt-4o", "text-embedding-3-small"]);

        var edited = await (await admin.SendAsync(Patch("/api/v1/users", new { user_ids = ids, allowed_models = new { mode, values } }))).ReadAsync<EditUsersResponse>();

        Assert.Equal(10, edited.Changed.Count);
        Assert.All(edited.Changed, c => Assert.Equal(expected, ((System.Text.Json.JsonElement)c.Changes["allowed_models"].After!).EnumerateArray().Select(v => v.GetString())));
        Assert.All(edited.Sync, s => Assert.Equal("synced", s.State));
        await using var db = app.NewDbContext();
        foreach (var id in ids)
        {
            var models = await db.KeyUsers.Where(u => u.UserId == id).SelectMany(u => u.AllowedModels.Select(m => m.Name)).OrderBy(m => m).ToListAsync();
            Assert.Equal(expected, models);
            Assert.Equal(expected, app.LiteLlm.FindKeyByAlias(id)!.Models.Order());
        }
        var audit = await db.AuditEvents.OrderByDescending(e => e.Id).FirstAsync(e => e.Action == "user.update");
        Assert.Contains("before", audit.Detail);
        Assert.All(ids, id => Assert.Contains(" " + id + " ", audit.UserIds));
    }

    [Theory]
    [InlineData("replace", new[] { "search" }, new[] { "search" })]
    [InlineData("add", new[] { "search" }, new[] { "billing", "search" })]
    [InlineData("remove", new[] { "billing" }, new string[0])]
    public async Task EditingServicesOf10UsersChangesOnlyTheDatabaseAndReportsWhoWasAlreadyAsAsked(string mode, string[] values, string[] expected)
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(9, services: ["billing"]);
        ids.AddRange(await admin.CreateUsersAsync(1, services: expected));

        var edited = await (await admin.SendAsync(Patch("/api/v1/users", new { user_ids = ids, allowed_services = new { mode, values } }))).ReadAsync<EditUsersResponse>();

        Assert.Equal([ids[^1]], edited.Unchanged);
        Assert.Equal(9, edited.Changed.Count);
        Assert.All(edited.Users, u => Assert.Equal(expected, u.AllowedServices));
    }

    [Fact]
    public async Task RemovingAUsersLastModelBlocksItsKeyAndAddingOneUnblocksIt()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, models: ["gpt-4o"]))[0];

        await (await admin.SendAsync(Patch($"/api/v1/users/{id}", new { allowed_models = new { mode = "remove", values = new[] { "gpt-4o" } } }))).ReadAsync<EditUsersResponse>();
        var key = app.LiteLlm.FindKeyByAlias(id)!;
        Assert.True(key.Blocked);
        Assert.Empty(key.Models);

        await (await admin.SendAsync(Patch($"/api/v1/users/{id}", new { allowed_models = new { mode = "add", values = new[] { "gpt-4o-mini" } } }))).ReadAsync<EditUsersResponse>();
        Assert.False(app.LiteLlm.FindKeyByAlias(id)!.Blocked);
    }

    [Fact]
    public async Task EditingUnknownIdsIs404NamingThemAndChangesNothing()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(2);
        var ghost = UserTestData.NewId("ghost");

        var problem = await (await admin.SendAsync(Patch("/api/v1/users", new { user_ids = ids.Append(ghost), organization = "changed" }))).AssertProblemAsync(HttpStatusCode.NotFound);

        Assert.Contains(ghost, problem.GetProperty("detail").GetString());
        Assert.Equal([ghost], problem.GetProperty("not_found").EnumerateArray().Select(e => e.GetString()));
        await using var db = app.NewDbContext();
        Assert.All(await db.KeyUsers.Where(u => ids.Contains(u.UserId)).ToListAsync(), u => Assert.Equal("acme", u.Organization));
    }

    [Fact]
    public async Task Deleting5UsersRemovesTheirKeysFromLiteLlmAndWritesOneAuditEventEach()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(5);
        var keep = (await admin.CreateUsersAsync(1))[0];

        var deleted = await (await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = ids })).ReadAsync<DeleteUsersResponse>();

        Assert.Equal(ids.Order(), deleted.Deleted.Order());
        Assert.All(deleted.Sync, s => Assert.Equal("deleted", s.State));
        Assert.All(ids, id => Assert.Null(app.LiteLlm.FindKeyByAlias(id)));
        Assert.NotNull(app.LiteLlm.FindKeyByAlias(keep));
        await using var db = app.NewDbContext();
        Assert.Equal(0, await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId)));
        foreach (var id in ids)
            Assert.Equal(1, await db.AuditEvents.CountAsync(e => e.Action == "user.delete" && e.UserIds == " " + id + " "));
    }

    [Fact]
    public async Task DeletingWhileLiteLlmIsDownLeavesTombstonesThatFinishWhenItReturns()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3);
        app.LiteLlm.SetDown(true);
        try
        {
            var deleted = await (await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = ids })).ReadAsync<DeleteUsersResponse>();
            Assert.All(deleted.Sync, s => Assert.Equal("pending", s.State));
            await using var db = app.NewDbContext();
            Assert.Equal(3, await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.DeletedAt != null));
            var listed = await (await admin.GetAsync("/api/v1/users?search=" + ids[0])).ReadAsync<UserPage>();
            Assert.Equal(0, listed.Total); // a tombstone is not a user any more
            Assert.All(ids, id => Assert.NotNull(app.LiteLlm.FindKeyByAlias(id)));
        }
        finally
        {
            app.LiteLlm.SetDown(false);
        }

        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId)) == 0;
        }, "the reconciler finishes the deletions");
        Assert.All(ids, id => Assert.Null(app.LiteLlm.FindKeyByAlias(id)));
    }

    [Fact]
    public async Task ListingSearchesFiltersSortsAndPagesAndNeverShowsAKey()
    {
        using var admin = await app.SuperAdminAsync();
        var org = "org-" + Guid.NewGuid().ToString("N")[..8];
        var ids = await admin.CreateUsersAsync(7, organization: org, services: ["search"]);
        await admin.CreateUsersAsync(2, organization: org, models: ["gpt-4o-mini"]);

        var byOrg = await (await admin.GetAsync($"/api/v1/users?search={org.ToUpperInvariant()}&sort=user_id&order=desc&page_size=4&page=1")).ReadAsync<UserPage>();
        Assert.Equal(9, byOrg.Total);
        Assert.Equal(4, byOrg.Items.Count);
        Assert.Equal(byOrg.Items.Select(u => u.UserId).OrderDescending(StringComparer.Ordinal), byOrg.Items.Select(u => u.UserId));
        var page3 = await (await admin.GetAsync($"/api/v1/users?search={org}&sort=user_id&order=desc&page_size=4&page=3")).ReadAsync<UserPage>();
        Assert.Single(page3.Items);

        Assert.Equal(7, (await (await admin.GetAsync($"/api/v1/users?organization={org}&service=search")).ReadAsync<UserPage>()).Total);
        Assert.Equal(2, (await (await admin.GetAsync($"/api/v1/users?organization={org}&model=gpt-4o-mini")).ReadAsync<UserPage>()).Total);
        Assert.Equal(9, (await (await admin.GetAsync($"/api/v1/users?organization={org}&sync=synced")).ReadAsync<UserPage>()).Total);

        var raw = await (await admin.GetAsync($"/api/v1/users?organization={org}")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("\"key\"", raw);
        Assert.All(app.LiteLlm.GetKeys().Where(k => ids.Contains(k.KeyAlias!)), k => Assert.DoesNotContain(k.Key!, raw));
        await (await admin.GetAsync("/api/v1/users?sort=password&order=sideways&page_size=501")).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task SearchTakesPercentAndUnderscoreLiterally()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        await admin.CreateUsersAsync(2, organization: $"a_b%{tag}");
        await admin.CreateUsersAsync(3, organization: $"axbx{tag}");

        Assert.Equal(2, (await (await admin.GetAsync($"/api/v1/users?search=A_B%25{tag}")).ReadAsync<UserPage>()).Total);
        Assert.Equal(0, (await (await admin.GetAsync($"/api/v1/users?search=a%25b%25{tag}")).ReadAsync<UserPage>()).Total);
        Assert.Equal(5, (await (await admin.GetAsync($"/api/v1/users?search={tag}")).ReadAsync<UserPage>()).Total);
    }

    [Fact]
    public async Task ReadingOneUserReturnsTheKeyLiteLlmHoldsAndIsAuditedAsADisclosure()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];

        var user = await (await admin.GetAsync($"/api/v1/users/{id}")).ReadAsync<UserResponse>();

        Assert.Equal(app.LiteLlm.FindKeyByAlias(id)!.Key, user.Key);
        await using var db = app.NewDbContext();
        var disclosure = await db.AuditEvents.SingleAsync(e => e.Action == "user.read_key" && e.UserIds == " " + id + " ");
        Assert.Equal(("admin", AuditResult.Success), (disclosure.Actor, disclosure.Result));
        Assert.DoesNotContain(user.Key!, disclosure.Detail);
        await (await admin.GetAsync("/api/v1/users/nobody-here")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task RetryingTheSyncOfAUserInErrorBringsItToSynced()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        await using (var db = app.NewDbContext())
            await db.KeyUsers.Where(u => u.UserId == id).ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncState, SyncState.Error).SetProperty(u => u.NextSyncAt, DateTimeOffset.UtcNow.AddHours(1)));

        var outcome = await (await admin.PostJsonAsync($"/api/v1/users/{id}/sync", new { })).ReadAsync<Mama.LiteLlm.SyncOutcome>();

        Assert.Equal("synced", outcome.State);
    }

    public static TheoryData<string> BadEdits => new()
    {
        "{\"user_ids\": []}",
        "{\"user_ids\": [\"a\", \"a\"], \"organization\": \"x\"}",
        "{\"user_ids\": [\"bad id \"], \"organization\": \"x\"}",
        "{\"user_ids\": \"not-a-list\"}",
        "{\"user_ids\": [\"a\"], \"allowed_models\": {\"mode\": \"multiply\", \"values\": [\"x\"]}}",
        "{\"user_ids\": [\"a\"]}",
    };

    [Theory]
    [MemberData(nameof(BadEdits))]
    public async Task BadEditsAre400Problems(string body)
    {
        using var admin = await app.SuperAdminAsync();
        var response = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") });
        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    private static HttpRequestMessage Patch(string url, object body) =>
        new(HttpMethod.Patch, url) { Content = System.Net.Http.Json.JsonContent.Create(body, options: Mama.Http.MamaJson.Options) };

    [Fact]
    public async Task AnUnknownUserIs404WithAStableCodeAndTheIdForTheUiToTranslate()
    {
        using var admin = await app.SuperAdminAsync();
        var ghost = UserTestData.NewId("ghost");

        var problem = await (await admin.GetAsync($"/api/v1/users/{ghost}")).AssertProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal(("user_not_found", ghost), (problem.GetProperty("code").GetString(), problem.GetProperty("user_id").GetString()));
        Assert.Equal($"No user '{ghost}'.", problem.GetProperty("detail").GetString());
    }
}

public sealed class UsersApiTestsOnSqlite(SqliteApp app) : UsersApiTests(app), IClassFixture<SqliteApp>;
public sealed class UsersApiTestsOnPostgres(PostgresApp app) : UsersApiTests(app), IClassFixture<PostgresApp>;
