using System.Net;
using System.Text.RegularExpressions;

namespace Mama.Tests.Infrastructure;

/// <summary>Signs in through the login form, as a browser does: the page's antiforgery token, then the form post.</summary>
public static partial class CookieSignIn
{
    public static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string username, string password, string returnUrl)
    {
        var page = await browser.GetStringAsync("/login");
        var antiforgery = AntiforgeryField().Match(page);
        Assert.True(antiforgery.Success, "The login form carries an antiforgery token.");
        return await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [antiforgery.Groups[1].Value] = WebUtility.HtmlDecode(antiforgery.Groups[2].Value),
            ["_handler"] = "login",
            ["Input.Username"] = username,
            ["Input.Password"] = password,
            ["ReturnUrl"] = returnUrl,
        }));
    }

    [GeneratedRegex("name=\"(__RequestVerificationToken)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
