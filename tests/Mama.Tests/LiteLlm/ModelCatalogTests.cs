using System.Net;
using System.Net.Http.Json;
using Mama.LiteLlm;
using Mama.LiteLlmEmulator;
using Mama.Tests.Infrastructure;
using Mama.Tests.Users;

namespace Mama.Tests.LiteLlm;

/// <summary>The model catalog of a 2026 proxy, whose /v1/models mixes aliases and group names in with the models. No database rules involved: SQLite only.</summary>
public sealed class ModelCatalogTests(SqliteApp app) : IClassFixture<SqliteApp>, IDisposable
{
    [Fact]
    public async Task ModelsComeFromModelInfoSoAliasesAndGroupNamesMixedIntoV1ModelsAreNotModelsAndGroupsAreListedApart()
    {
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.SetModels(["gpt-4o", "o3", "claude-sonnet-4"]);
        app.LiteLlm.AccessGroups = new Dictionary<string, IReadOnlyList<string>> { ["beta"] = ["o3", "claude-sonnet-4"] };
        app.LiteLlm.ModelListExtras = ["alice", "team-search", "beta", "no-default-models"];

        var catalog = await (await admin.GetAsync("/api/v1/models")).ReadAsync<ModelListResponse>();

        Assert.Equal(["claude-sonnet-4", "gpt-4o", "o3"], catalog.Models.Select(m => m.Id).Order());
        var group = Assert.Single(catalog.AccessGroups);
        Assert.Equal("beta", group.Id);
        Assert.Equal(["claude-sonnet-4", "o3"], group.Models.Order());
        Assert.Equal("model_info", catalog.Source);
    }

    [Fact]
    public async Task WithoutModelInfoTheCatalogFallsBackToV1ModelsLessTheSentinels()
    {
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.ModelInfoAvailable = false;
        app.LiteLlm.ModelListExtras = ["no-default-models", "all-proxy-models"];

        var catalog = await (await admin.GetAsync("/api/v1/models")).ReadAsync<ModelListResponse>();

        Assert.Equal(EmulatorOptions.DefaultModels.Order(), catalog.Models.Select(m => m.Id).Order());
        Assert.Empty(catalog.AccessGroups);
        Assert.Equal("models", catalog.Source);
    }

    [Fact]
    public async Task AProxyWithoutModelsHasAnEmptyCatalogNotAnError()
    {
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.SetModels([]);

        var catalog = await (await admin.GetAsync("/api/v1/models")).ReadAsync<ModelListResponse>();

        Assert.Empty(catalog.Models);
        Assert.False(catalog.Stale);
    }

    [Fact]
    public async Task AUserMayBeGivenAnAccessGroupButNotAnAliasThatV1ModelsListsAsIfItWereAModel()
    {
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.AccessGroups = new Dictionary<string, IReadOnlyList<string>> { ["beta"] = ["gpt-4o"] };
        app.LiteLlm.ModelListExtras = ["alice-alias"];
        var withGroup = UserTestData.NewId();
        var withAlias = UserTestData.NewId();

        var accepted = await admin.PostAsJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(withGroup, models: ["beta"]) } });
        var refused = await admin.PostAsJsonAsync("/api/v1/users", new { users = new[] { UserTestData.Row(withAlias, models: ["alice-alias"]) } });

        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        Assert.Equal(["beta"], app.LiteLlm.FindKeyByAlias(withGroup)!.Models);
        var problem = await refused.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("alice-alias", problem.GetProperty("errors").GetProperty("users[0].allowed_models")[0].GetString());
    }

    public void Dispose()
    {
        app.LiteLlm.SetModels(EmulatorOptions.DefaultModels);
        app.LiteLlm.AccessGroups = new Dictionary<string, IReadOnlyList<string>>();
        app.LiteLlm.ModelListExtras = [];
        app.LiteLlm.ModelInfoAvailable = true;
    }
}
