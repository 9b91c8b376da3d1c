using System.Net;
using Mama.Http;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

/// <summary>Edits made from what a client saw: set differences that keep others' changes, and scalars that refuse to overwrite unseen ones.</summary>
public abstract class UserEditMergeTests(MamaApp app)
{
    [Fact]
    public async Task AddAndRemoveListsApplyTogetherAndKeepWhatSomeoneElseChangedMeanwhile()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, models: ["gpt-4o", "claude-sonnet-4"], services: ["billing"]))[0];
        await admin.EditAsync([id], models: new { mode = "add", values = new[] { "gpt-4o-mini" } }); // someone else

        var edited = await (await admin.SendAsync(Patch(id, new
        {
            allowed_models = new { add = new[] { "text-embedding-3-small" }, remove = new[] { "claude-sonnet-4" } },
            allowed_services = new { add = new[] { "a,b;c|d" } },
        }))).ReadAsync<EditUsersResponse>();

        var user = Assert.Single(edited.Users);
        Assert.Equal(["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"], user.AllowedModels);
        Assert.Equal(["a,b;c|d", "billing"], user.AllowedServices);
        Assert.Equal(["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"], app.LiteLlm.FindKeyByAlias(id)!.Models.Order());
    }

    [Fact]
    public async Task AnExpectedOrganisationThatNoLongerHoldsIs409ChangesNothingAndIsAudited()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, organization: "before"))[0];
        await (await admin.SendAsync(Patch(id, new { organization = "someone-else" }))).ReadAsync<EditUsersResponse>();

        var problem = await (await admin.SendAsync(Patch(id, new { organization = "mine", expected_organization = "before", extra_info = "mine too" })))
            .AssertProblemAsync(HttpStatusCode.Conflict);

        Assert.Contains("organisation", problem.GetProperty("detail").GetString());
        Assert.Contains("\"someone-else\"", problem.GetProperty("detail").GetString());
        await using var db = app.NewDbContext();
        var user = await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id);
        Assert.Equal(("someone-else", ""), (user.Organization, user.ExtraInfo));
        var audit = await db.AuditEvents.OrderByDescending(e => e.Id).FirstAsync(e => e.Action == "user.update" && e.UserIds.Contains(" " + id + " "));
        Assert.Equal(409, audit.StatusCode);

        await (await admin.SendAsync(Patch(id, new { organization = "mine", expected_organization = "someone-else" }))).ReadAsync<EditUsersResponse>();
    }

    [Fact]
    public async Task OfTenConcurrentOrganisationChangesFromTheSameViewExactlyOneWins()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, organization: "seen"))[0];

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => admin.SendAsync(Patch(id, new { organization = $"org-{i}", expected_organization = "seen" }))));

        var winner = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(responses.Where(r => r != winner), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
        var won = Assert.Single((await winner.ReadAsync<EditUsersResponse>()).Users).Organization;
        await using var db = app.NewDbContext();
        Assert.Equal(won, (await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id)).Organization);
    }

    [Fact]
    public async Task TenConcurrentDifferencesNeverLoseOneThatWasAnsweredAsSaved()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, services: ["billing"]))[0];
        var names = Enumerable.Range(0, 10).Select(i => $"svc-{i}").ToList();

        var responses = await Task.WhenAll(names.Select(n => admin.SendAsync(Patch(id, new { allowed_services = new { add = new[] { n }, remove = new[] { "billing" } } }))));

        // Each is merged or refused as changed meanwhile; none is answered as saved and then lost.
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
        var saved = names.Where((_, i) => responses[i].StatusCode == HttpStatusCode.OK).ToList();
        Assert.NotEmpty(saved);
        await using var db = app.NewDbContext();
        Assert.Equal(string.Join('\n', saved.Order(StringComparer.Ordinal)), (await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id)).ServiceNames);
    }

    [Theory]
    [InlineData("""{"mode": "add", "values": ["a"], "add": ["b"]}""")]
    [InlineData("""{"add": ["a"], "remove": ["a"]}""")]
    [InlineData("""{"add": [null]}""")]
    [InlineData("""{"remove": [" "]}""")]
    public async Task AConfusedSetEditIs400AndChangesNothing(string edit)
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];

        var response = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/users/{id}")
        {
            Content = new StringContent($$"""{"allowed_services": {{edit}}}""", System.Text.Encoding.UTF8, "application/json"),
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(problem.GetProperty("errors").EnumerateObject(), e => e.Name.StartsWith("allowed_services", StringComparison.Ordinal));
        await using var db = app.NewDbContext();
        Assert.Equal("billing", (await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id)).ServiceNames);
    }

    private static HttpRequestMessage Patch(string userId, object body) =>
        new(HttpMethod.Patch, $"/api/v1/users/{userId}") { Content = System.Net.Http.Json.JsonContent.Create(body, options: MamaJson.Options) };
}

public sealed class UserEditMergeTestsOnSqlite(SqliteApp app) : UserEditMergeTests(app), IClassFixture<SqliteApp>;
public sealed class UserEditMergeTestsOnPostgres(PostgresApp app) : UserEditMergeTests(app), IClassFixture<PostgresApp>;
