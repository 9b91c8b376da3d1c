using System.Net;
using System.Text.Json;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Http;

public abstract class PlatformTests(MamaApp app)
{
    [Fact]
    public async Task HealthEndpointsAnswerWithoutSigningIn()
    {
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheApiAndTheDocsPageIsServed()
    {
        using var client = app.CreateClient();
        var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/auth/token", "/api/v1/auth/me", "/api/v1/admins", "/api/v1/admins/{username}", "/api/v1/audit" })
            Assert.True(paths.TryGetProperty(path, out _), path);
        var docs = await client.GetAsync("/docs/");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("Scalar", await docs.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheUiRedirectsToLoginAndACookieSignInReachesTheHomePage()
    {
        using var client = app.CreateClient();
        var home = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
        Assert.StartsWith("/login", home.Headers.Location!.PathAndQuery);
    }
}

public sealed class PlatformTestsOnSqlite(SqliteApp app) : PlatformTests(app), IClassFixture<SqliteApp>;
public sealed class PlatformTestsOnPostgres(PostgresApp app) : PlatformTests(app), IClassFixture<PostgresApp>;
