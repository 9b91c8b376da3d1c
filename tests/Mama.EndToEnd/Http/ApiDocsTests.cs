using Mama.EndToEnd.Infrastructure;

namespace Mama.EndToEnd.Http;

/// <summary>The docs page loads its own bundle and one inline start-up script under the Content-Security-Policy.</summary>
public sealed class ApiDocsTests(MamaE2E app) : BrowserTest(app)
{
    [Fact]
    public async Task TheApiDocsPageRendersTheApiUnderTheContentSecurityPolicy()
    {
        var response = await GotoAsync("/docs/");

        Assert.Contains("script-src 'self' 'nonce-", await response.HeaderValueAsync("content-security-policy"));
        // The title comes from the OpenAPI document, fetched by the page's script.
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Mama | v1", Level = 1 })).ToBeVisibleAsync();
        await Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Key lookup", Exact = true })).ToBeVisibleAsync();
    }
}
