using System.Net;
using System.Net.Http.Json;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Http;
using Mama.Tests.Http;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.ApiClients;

/// <summary>API clients with scope <c>manage</c> manage users through /api/v1/users with X-API-Key, as scripts did with the Python mama's key.</summary>
public abstract class ManageScopeTests(MamaApp app)
{
    [Fact]
    public async Task AManageClientCreatesListsReadsEditsAndDeletesUsersAuditedAsItsName()
    {
        var (client, name) = await NewClientAsync("manage");
        var id = UserTestData.NewId();

        var created = await client.CreateUsersAsync([UserTestData.Row(id)]);
        var page = await (await client.GetAsync($"/api/v1/users?search={id}")).ReadAsync<UserPage>();
        var read = await (await client.GetAsync($"/api/v1/users/{id}")).ReadAsync<UserResponse>();
        var key = app.LiteLlm.FindKeyByAlias(id)!.Key;
        var edited = await (await client.PatchAsJsonAsync($"/api/v1/users/{id}", new { organization = "globex" }, MamaJson.Options)).ReadAsync<EditUsersResponse>();
        var deleted = await client.DeleteAsync($"/api/v1/users/{id}");

        Assert.Equal(id, created.Users.Single().UserId);
        Assert.Equal([id], page.Items.Select(u => u.UserId));
        Assert.Equal(key, read.Key);
        Assert.Equal("api:" + name, created.Users.Single().CreatedBy);
        Assert.Equal("globex", edited.Users.Single().Organization);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(id) is null), "the proxy's key is deleted");
        await using var db = app.NewDbContext();
        var actions = await db.AuditEvents.Where(e => e.Actor == "api:" + name && e.Result == AuditResult.Success).Select(e => e.Action).ToListAsync();
        Assert.All(new[] { "user.create", "user.list", "user.read_key", "user.update", "user.delete" }, action => Assert.Contains(action, actions));
    }

    [Theory]
    [InlineData("all")]
    [InlineData("service")]
    public async Task AnAllOrServiceClientIsRefusedEveryUsersEndpointWith403AndChangesNothing(string scope)
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var (client, name) = await NewClientAsync(scope, admin);
        var before = await app.CountsAsync();

        await (await client.PostJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(UserTestData.NewId()) } })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.GetAsync("/api/v1/users")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.GetAsync($"/api/v1/users/{id}")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.PatchAsJsonAsync($"/api/v1/users/{id}", new { organization = "globex" }, MamaJson.Options)).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.DeleteAsync($"/api/v1/users/{id}")).AssertProblemAsync(HttpStatusCode.Forbidden);

        Assert.Equal((before.Users, before.Admins, before.Clients, before.Denials + 5), await app.CountsAsync());
        Assert.Equal("acme", (await (await admin.GetAsync($"/api/v1/users/{id}")).ReadAsync<UserResponse>()).Organization);
        await using var db = app.NewDbContext();
        Assert.Equal(5, await db.AuditEvents.CountAsync(e => e.Actor == "api:" + name && e.Action == "access.denied" && e.StatusCode == 403));
    }

    [Fact]
    public async Task AManageClientCannotBringAnExistingKeySoALeakedTokenTakesNoProxyKeyOver()
    {
        var (client, _) = await NewClientAsync("manage");
        var id = UserTestData.NewId();
        var key = PlantedKeys.NewKey();
        await app.PlantAsync(id, key, ["gpt-4o"]);

        var response = await client.PostAsJsonAsync("/api/v1/users", new { users = new[] { new { user_id = id, allowed_models = new[] { "gpt-4o", "gpt-4o-mini" }, key } } }, MamaJson.Options);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("users[0].key", problem.GetRawText());
        Assert.DoesNotContain(key, problem.GetRawText());
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => u.UserId == id));
        Assert.Equal(["gpt-4o"], app.LiteLlm.FindKeyByAlias(id)!.Models);
    }

    [Fact]
    public async Task AManageClientReachesNothingElseOfTheAdminApi()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var (client, _) = await NewClientAsync("manage", admin);

        await (await client.PostAsync($"/api/v1/users/{id}/sync", null)).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.PostJsonAsync($"/api/v1/users/{id}/resolve", new { action = "replace" })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.GetAsync("/api/v1/admins")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await client.GetAsync("/api/v1/audit")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await client.GetAsync("/api/v1/api-clients")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        // The lookups see every user, as with scope all.
        Assert.Equal(app.LiteLlm.FindKeyByAlias(id)!.Key, (await (await client.GetAsync($"/api/v1/keys/{id}")).ReadAsync<LookedUpUser>()).Key);
    }

    [Fact]
    public async Task AWrongKeyOnTheUsersEndpointsIs401AndAdminsKeepTheirBearerAccess()
    {
        using var wrong = app.CreateClient();
        wrong.DefaultRequestHeaders.Add("X-API-Key", "mama_not-a-real-token");
        using var admin = await app.SuperAdminAsync();

        await (await wrong.GetAsync("/api/v1/users")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/users")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{(await admin.CreateUsersAsync(1))[0]}/sync", null)).StatusCode);
    }

    [Fact]
    public async Task ManageIsAScopeSuperAdminsCanGiveAndListed()
    {
        using var admin = await app.SuperAdminAsync();
        var (_, name) = await NewClientAsync("manage", admin);

        var listed = await (await admin.GetAsync("/api/v1/api-clients")).ReadAsync<ApiClientListResponse>();

        Assert.Equal("manage", listed.Items.Single(c => c.Name == name).Scope);
        var problem = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = "x-" + Guid.NewGuid().ToString("N")[..8], service = "y", scope = "admin" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("manage", problem.GetProperty("errors").GetProperty("scope")[0].GetString());
    }

    private async Task<(HttpClient Client, string Name)> NewClientAsync(string scope, HttpClient? admin = null)
    {
        using var owned = admin is null ? await app.SuperAdminAsync() : null;
        var name = "client-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await (admin ?? owned!).PostJsonAsync("/api/v1/api-clients", new { name, service = "billing", scope }))
            .ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        return (client, name);
    }
}

public sealed class ManageScopeTestsOnSqlite(SqliteApp app) : ManageScopeTests(app), IClassFixture<SqliteApp>;
public sealed class ManageScopeTestsOnPostgres(PostgresApp app) : ManageScopeTests(app), IClassFixture<PostgresApp>;
