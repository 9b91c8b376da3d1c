using System.Net;
using System.Net.Http.Headers;
using Mama.Rotation;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Rotation;

/// <summary>Rotating "all matching" with the users list's <c>unavailable_models</c> filter: the filter goes to the server, not a list of IDs.</summary>
public abstract class UnavailableModelsRotationTests(MamaApp app)
{
    [Fact]
    public async Task AFilterRotationWithUnavailableModelsRotatesExactlyTheHoldersOfModelsTheProxyNoLongerServes()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = "rf" + Guid.NewGuid().ToString("N")[..10];
        string Id(string name) => $"{name}-{tag}";
        await admin.CreateUsersAsync([
            UserTestData.Row(Id("retired"), tag, ["gpt-4o", "retired-" + tag]),
            UserTestData.Row(Id("only-retired"), tag, ["old-" + tag]),
            UserTestData.Row(Id("served"), tag, ["gpt-4o"]),
            UserTestData.Row(Id("special"), tag, ["all-proxy-models"]),
        ], allowUnknownModels: true);

        async Task<RotateResponse> DryRunAsync(bool? unavailable) =>
            await (await admin.PostJsonAsync("/api/v1/users/rotate", new { filter = new { organization = tag, unavailable_models = unavailable }, dry_run = true }))
                .ReadAsync<RotateResponse>();
        var (holders, unfiltered, off) = ((await DryRunAsync(true)).Total, (await DryRunAsync(null)).Total, (await DryRunAsync(false)).Total);
        var started = await admin.RotateAsync(new { filter = new { organization = tag, unavailable_models = true }, grace = "0" });
        await admin.UntilAsync(started.RotationId!, p => p.Finished, "the rotation of the two holders finishes");
        await using var db = app.NewDbContext();
        var rotated = await db.KeyRotationItems.AsNoTracking().Where(i => i.RotationId == started.RotationId).Select(i => i.UserId).OrderBy(u => u).ToListAsync();

        Assert.Equal((2, 4, 4), (holders, unfiltered, off));
        Assert.Equal(2, started.Total);
        Assert.Equal([Id("only-retired"), Id("retired")], rotated);
    }

    [Fact]
    public async Task WithNoModelListKnownAFilterRotationWithUnavailableModelsIsA503AndRotatesNothing()
    {
        app.LiteLlm.SetDown(true);
        try
        {
            // A second mama that has never read the proxy's list, started while the proxy is down.
            await using var fresh = app.StartHost();
            using var client = fresh.CreateClient(new() { AllowAutoRedirect = false });
            var token = await MamaApp.TokenAsync(client, "admin", MamaApp.SuperAdminPassword);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
            await using var before = app.NewDbContext();
            var rotations = await before.KeyRotations.CountAsync();

            var problem = await (await client.PostJsonAsync("/api/v1/users/rotate", new { filter = new { unavailable_models = true }, grace = "1h" }))
                .AssertProblemAsync(HttpStatusCode.ServiceUnavailable);

            Assert.Contains("model", problem.GetProperty("detail").GetString());
            await using var after = app.NewDbContext();
            Assert.Equal(rotations, await after.KeyRotations.CountAsync());
        }
        finally
        {
            app.LiteLlm.SetDown(false);
        }
    }
}

public sealed class UnavailableModelsRotationTestsOnSqlite(SqliteApp app) : UnavailableModelsRotationTests(app), IClassFixture<SqliteApp>;
public sealed class UnavailableModelsRotationTestsOnPostgres(PostgresApp app) : UnavailableModelsRotationTests(app), IClassFixture<PostgresApp>;
