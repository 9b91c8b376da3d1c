using System.Net;
using System.Text.RegularExpressions;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Components;

/// <summary>Blazor's reconnect dialog is replaced by mama's own, in the page's language, with its script and styles served.</summary>
public sealed partial class ReconnectModalTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Theory]
    [InlineData("ko", "mama와의 연결이 끊겼습니다.", "새로 고침")]
    [InlineData("en", "The connection to mama was interrupted.", "Reload")]
    public async Task EveryPageCarriesMamasReconnectBannerInItsLanguage(string language, string title, string reload)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/login");
        request.Headers.AcceptLanguage.ParseAdd(language);
        var html = await (await client.SendAsync(request)).Content.ReadAsStringAsync();

        Assert.Contains("<dialog id=\"components-reconnect-modal\"", html); // the id Blazor looks for instead of showing its own
        Assert.Contains(title, WebUtility.HtmlDecode(html));
        Assert.Contains(reload, WebUtility.HtmlDecode(html));
        Assert.DoesNotContain("Rejoining the server", html);
        foreach (var (asset, type) in new[] { (ScriptSource().Match(html), "text/javascript"), (StyleSheet().Match(html), "text/css") })
        {
            Assert.True(asset.Success, $"No {type} for the reconnect banner in the page.");
            var response = await client.GetAsync("/" + asset.Groups[1].Value);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        }
    }

    [GeneratedRegex("<script type=\"module\" src=\"([^\"]*ReconnectModal[^\"]*)\"")]
    private static partial Regex ScriptSource();

    [GeneratedRegex("<link rel=\"stylesheet\" href=\"([^\"]*reconnect-modal[^\"]*)\"")]
    private static partial Regex StyleSheet();
}
