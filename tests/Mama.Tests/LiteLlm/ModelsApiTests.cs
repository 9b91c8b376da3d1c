using System.Net;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.LiteLlm;

public abstract class ModelsApiTests(MamaApp app)
{
    [Fact]
    public async Task TheModelListIsWhatTheProxyServesAndTheLastCopyIsServedStaleWhenItIsDown()
    {
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.SetModels(["gpt-4o", "claude-sonnet-4", "new-model"]);
        try
        {
            var fresh = await (await admin.GetAsync("/api/v1/models")).ReadAsync<ModelListResponse>();
            Assert.Equal(["claude-sonnet-4", "gpt-4o", "new-model"], fresh.Models.Select(m => m.Id).Order());
            Assert.False(fresh.Stale);

            app.LiteLlm.SetDown(true);
            var stale = await (await admin.GetAsync("/api/v1/models")).ReadAsync<ModelListResponse>();
            Assert.True(stale.Stale);
            Assert.Equal(fresh.Models, stale.Models);
            Assert.Equal(fresh.FetchedAt, stale.FetchedAt);
        }
        finally
        {
            app.LiteLlm.SetDown(false);
            app.LiteLlm.SetModels(Mama.LiteLlmEmulator.EmulatorOptions.DefaultModels);
        }
    }

    [Fact]
    public async Task WithTheProxyDownAndNoEarlierCopyTheAnswerIs503Problem()
    {
        app.LiteLlm.SetDown(true);
        try
        {
            await using var second = app.StartHost(); // a new instance has no copy yet
            using var client = second.CreateClient();
            client.DefaultRequestHeaders.Authorization = new("Bearer", (await MamaApp.TokenAsync(client, "admin", MamaApp.SuperAdminPassword)).AccessToken);
            await (await client.GetAsync("/api/v1/models")).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            app.LiteLlm.SetDown(false);
        }
    }

    [Fact]
    public async Task OnlyAdminsMayListModels()
    {
        using var anonymous = app.CreateClient();
        await (await anonymous.GetAsync("/api/v1/models")).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }
}

public sealed class ModelsApiTestsOnSqlite(SqliteApp app) : ModelsApiTests(app), IClassFixture<SqliteApp>;
public sealed class ModelsApiTestsOnPostgres(PostgresApp app) : ModelsApiTests(app), IClassFixture<PostgresApp>;
