using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Mama.Components.Shared;
using Mama.Tests.Infrastructure;
using Mama.Users;

namespace Mama.Tests.Users;

/// <summary>The list's <c>unavailable_models</c> filter and its case-insensitive organisation filter, on the list, the export and the page's helpers.</summary>
public abstract class UserListFilterTests(MamaApp app)
{
    private static string Tag() => "lf" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task TheUnavailableModelsFilterFindsEveryUserStillHoldingAModelTheProxyNoLongerServesInTheListAndTheExport()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        app.LiteLlm.AccessGroups = new Dictionary<string, IReadOnlyList<string>> { ["team-" + tag] = ["gpt-4o"] };
        try
        {
            string Id(string name) => $"{name}-{tag}";
            await admin.CreateUsersAsync([
                UserTestData.Row(Id("retired"), tag, ["gpt-4o", "retired-" + tag]),
                UserTestData.Row(Id("only-retired"), tag, ["old-" + tag]),
                UserTestData.Row(Id("served"), tag, ["gpt-4o"]),
                UserTestData.Row(Id("special"), tag, ["all-proxy-models", "all-team-models"]),
                UserTestData.Row(Id("group"), tag, ["team-" + tag]),
            ], allowUnknownModels: true);

            var page = await (await admin.GetAsync($"/api/v1/users?organization={tag}&unavailable_models=true")).ReadAsync<UserPage>();
            var all = await (await admin.GetAsync($"/api/v1/users?organization={tag}&unavailable_models=false")).ReadAsync<UserPage>();
            using var export = await admin.GetAsync($"/api/v1/users/export?organization={tag}&unavailable_models=true");

            string[] expected = [Id("only-retired"), Id("retired")];
            Assert.Equal(expected, page.Items.Select(u => u.UserId));
            Assert.Equal(2, page.Total);
            Assert.Equal(5, all.Total);
            Assert.Equal(HttpStatusCode.OK, export.StatusCode);
            var lines = Encoding.UTF8.GetString(await export.Content.ReadAsByteArrayAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(expected, lines.Skip(1).Select(l => Csv.SplitLine(l)[0]).Order(StringComparer.Ordinal));
        }
        finally
        {
            app.LiteLlm.AccessGroups = new Dictionary<string, IReadOnlyList<string>>();
        }
    }

    [Fact]
    public async Task AModelTheProxyStopsServingMakesItsHoldersUnavailableFromTheNextRead()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        var served = app.LiteLlm.ModelNames;
        var ids = await admin.CreateUsersAsync(2, models: ["gpt-4o-mini"], organization: tag);
        var before = await (await admin.GetAsync($"/api/v1/users?organization={tag}&unavailable_models=true")).ReadAsync<UserPage>();
        app.LiteLlm.SetModels(served.Where(m => m != "gpt-4o-mini"));
        try
        {
            var after = await (await admin.GetAsync($"/api/v1/users?organization={tag}&unavailable_models=true")).ReadAsync<UserPage>();

            Assert.Equal(0, before.Total);
            Assert.Equal(ids.Order(StringComparer.Ordinal), after.Items.Select(u => u.UserId));
        }
        finally
        {
            app.LiteLlm.SetModels(served);
        }
    }

    [Fact]
    public async Task WithNoModelListKnownTheUnavailableModelsFilterIsA503NotAWrongAnswer()
    {
        // A second mama that has never read the proxy's list, started while the proxy is down.
        app.LiteLlm.SetDown(true);
        try
        {
            await using var fresh = app.StartHost();
            using var client = fresh.CreateClient(new() { AllowAutoRedirect = false });
            var token = await MamaApp.TokenAsync(client, "admin", MamaApp.SuperAdminPassword);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);

            var list = await (await client.GetAsync("/api/v1/users?unavailable_models=true")).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            var export = await (await client.GetAsync("/api/v1/users/export?unavailable_models=true")).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            var plain = await client.GetAsync("/api/v1/users?page_size=1");

            Assert.Contains("model", list.GetProperty("detail").GetString());
            Assert.Contains("model", export.GetProperty("detail").GetString());
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        }
        finally
        {
            app.LiteLlm.SetDown(false);
        }
    }

    [Fact]
    public async Task AnUnavailableModelsValueOtherThanTrueOrFalseIsA400()
    {
        using var admin = await app.SuperAdminAsync();

        var response = await admin.GetAsync("/api/v1/users?unavailable_models=maybe");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task TheOrganisationFilterIgnoresCaseAndLeavesHangulAsItIs()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        var (upper, lower, hangul, other) = ($"ACME-{tag}", $"acme-{tag}", $"개발팀-{tag}", $"acme-{tag}-x");
        await admin.CreateUsersAsync([
            UserTestData.Row("u1-" + tag, upper), UserTestData.Row("u2-" + tag, lower), UserTestData.Row("u3-" + tag, hangul), UserTestData.Row("u4-" + tag, other),
            UserTestData.Row("u5-" + tag, $"acme_{tag}"),
        ]);

        var byLower = await (await admin.GetAsync($"/api/v1/users?organization={Uri.EscapeDataString(lower)}")).ReadAsync<UserPage>();
        var byMixed = await (await admin.GetAsync($"/api/v1/users?organization={Uri.EscapeDataString($"AcMe-{tag.ToUpperInvariant()}")}")).ReadAsync<UserPage>();
        var byHangul = await (await admin.GetAsync($"/api/v1/users?organization={Uri.EscapeDataString(hangul)}")).ReadAsync<UserPage>();
        var partHangul = await (await admin.GetAsync($"/api/v1/users?organization={Uri.EscapeDataString("개발팀")}")).ReadAsync<UserPage>();

        Assert.Equal(["u1-" + tag, "u2-" + tag], byLower.Items.Select(u => u.UserId));
        Assert.Equal(["u1-" + tag, "u2-" + tag], byMixed.Items.Select(u => u.UserId));
        Assert.Equal(["u3-" + tag], byHangul.Items.Select(u => u.UserId));
        Assert.Equal(0, partHangul.Total);
    }

    [Fact]
    public async Task OrganisationSuggestionsAreTheDistinctExistingOrganisationsContainingTheTextInAnyCaseAndBounded()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        await admin.CreateUsersAsync([
            UserTestData.Row("s1-" + tag, $"Acme {tag}"), UserTestData.Row("s2-" + tag, $"Acme {tag}"), UserTestData.Row("s3-" + tag, $"서울 {tag}"),
        ]);
        await admin.CreateUsersAsync(Enumerable.Range(0, UserService.MaxOrganizationSuggestions + 5).Select(i => UserTestData.Row($"m{i:00}-{tag}", $"many {i:00} {tag}")));
        var users = app.Service<UserService>();

        var acme = await users.OrganizationsAsync("ACME " + tag.ToUpperInvariant(), TestContext.Current.CancellationToken);
        var seoul = await users.OrganizationsAsync("서울 " + tag, TestContext.Current.CancellationToken);
        var many = await users.OrganizationsAsync(tag, TestContext.Current.CancellationToken);

        Assert.Equal([$"Acme {tag}"], acme);
        Assert.Equal([$"서울 {tag}"], seoul);
        Assert.Equal(UserService.MaxOrganizationSuggestions, many.Count);
        Assert.Equal(many.Order(StringComparer.Ordinal), many);
    }

    [Fact]
    public async Task TheSameFilterListedAgainAfterEachKindOfWriteGivesTheTotalOfThatMoment()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        var ids = await admin.CreateUsersAsync(3, models: ["gpt-4o", "gpt-4o-mini"], organization: "org-" + tag);
        var url = $"/api/v1/users?search=ORG-{tag}&model=gpt-4o&sort=updated_at&order=desc&page_size=2";
        async Task<int> TotalAsync() => (await (await admin.GetAsync(url)).ReadAsync<UserPage>()).Total;
        Task<HttpResponseMessage> PatchAsync(object body) =>
            admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users") { Content = JsonContent.Create(body) });

        var first = await TotalAsync();
        var again = await TotalAsync();
        ids.AddRange(await admin.CreateUsersAsync(1, models: ["gpt-4o"], organization: "org-" + tag));
        var created = await TotalAsync();
        await admin.EditAsync([ids[0]], models: new { mode = "remove", values = new[] { "gpt-4o" } });
        var modelRemoved = await TotalAsync();
        await (await PatchAsync(new { user_ids = new[] { ids[1] }, organization = "elsewhere-" + tag })).ReadAsync<EditUsersResponse>();
        var moved = await TotalAsync();
        await (await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = new[] { ids[2] } })).ReadAsync<DeleteUsersResponse>();
        var deleted = await (await admin.GetAsync(url)).ReadAsync<UserPage>();

        Assert.Equal([3, 3, 4, 3, 2], [first, again, created, modelRemoved, moved]);
        Assert.Equal(1, deleted.Total);
        Assert.Equal([ids[3]], deleted.Items.Select(u => u.UserId));
    }

    [Fact]
    public async Task TheTotalIsTheSameOnAFullPageALastPartPageAnEmptyPagePastTheEndAndWhenNothingMatches()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        await admin.CreateUsersAsync(5, organization: "org-" + tag);
        async Task<UserPage> PageAsync(string search, int page) =>
            await (await admin.GetAsync($"/api/v1/users?search={search}&sort=user_id&page_size=2&page={page}")).ReadAsync<UserPage>();

        var pages = new[] { await PageAsync(tag, 1), await PageAsync(tag, 3), await PageAsync(tag, 4), await PageAsync("none-" + tag, 1) };

        Assert.Equal([5, 5, 5, 0], pages.Select(p => p.Total));
        Assert.Equal([2, 1, 0, 0], pages.Select(p => p.Items.Count));
    }

    [Fact]
    public async Task TheHiddenCountSaysHowManyOfTheGivenUsersTheFilterLeavesOut()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = Tag();
        var acme = await admin.CreateUsersAsync(2, organization: "acme-" + tag);
        var other = await admin.CreateUsersAsync(3, organization: "other-" + tag);
        var users = app.Service<UserService>();
        UserQuery Filter(string organization) => new(null, organization, null, null, null, null, null, null, null);

        var hidden = await users.CountHiddenAsync(Filter("ACME-" + tag), [.. acme, .. other], TestContext.Current.CancellationToken);
        var none = await users.CountHiddenAsync(Filter(""), [.. acme, .. other], TestContext.Current.CancellationToken);
        // More IDs than one statement carries (a whole table ticked): users gone meanwhile count as hidden too.
        var many = await users.CountHiddenAsync(Filter("acme-" + tag), [.. acme, .. Enumerable.Range(0, 2500).Select(i => $"gone-{i}-{tag}")], TestContext.Current.CancellationToken);

        Assert.Equal(3, hidden);
        Assert.Equal(0, none);
        Assert.Equal(2500, many);
    }
}

public sealed class UserListFilterTestsOnSqlite(SqliteApp app) : UserListFilterTests(app), IClassFixture<SqliteApp>;
public sealed class UserListFilterTestsOnPostgres(PostgresApp app) : UserListFilterTests(app), IClassFixture<PostgresApp>;
