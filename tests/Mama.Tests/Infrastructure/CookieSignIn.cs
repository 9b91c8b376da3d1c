using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;

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

    /// <summary>Signs out as the app bar's button does: the form's antiforgery token from a signed-in page, then the post.</summary>
    public static async Task<HttpResponseMessage> SignOutAsync(HttpClient browser)
    {
        var page = await browser.GetStringAsync("/account");
        var antiforgery = AntiforgeryField().Match(page);
        Assert.True(antiforgery.Success, "The signed-in page carries an antiforgery token.");
        return await browser.PostAsync("/logout", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [antiforgery.Groups[1].Value] = WebUtility.HtmlDecode(antiforgery.Groups[2].Value),
        }));
    }

    /// <summary>A browser on <paramref name="host"/> with the cookie jar given: two of them on one jar are two tabs.</summary>
    public static HttpClient Browser(MamaHost host, CookieContainer jar) => host.CreateDefaultClient(new CookieContainerHandler(jar));

    /// <summary>The jar's cookies as they are now: a tab that kept the old cookie after another one signed out.</summary>
    public static CookieContainer CopyOf(CookieContainer jar)
    {
        var copy = new CookieContainer();
        copy.Add(jar.GetAllCookies());
        return copy;
    }

    [GeneratedRegex("name=\"(__RequestVerificationToken)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
