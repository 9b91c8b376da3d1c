using System.Net;
using System.Text.RegularExpressions;

namespace Mama.Tests.Infrastructure;

/// <summary>
/// A browser reduced to what the server sees: it keeps cookies itself (Secure ones too, as a TLS-terminating
/// proxy would pass them on over plain HTTP), adds fixed headers to every request, and never follows redirects.
/// Its cookies can be carried to another host of mama, as a load balancer would.
/// </summary>
public sealed partial class Browser(HttpClient client) : IDisposable
{
    public Dictionary<string, string> Cookies { get; } = [];
    public Dictionary<string, string> Headers { get; } = [];

    /// <summary>A browser on the host's test server; <paramref name="remoteIp"/> is the address the connection comes from.</summary>
    public static Browser On(MamaHost host, IPAddress? remoteIp = null, string baseAddress = "http://localhost/") =>
        new(new HttpClient(host.Server.CreateHandler(c => c.Connection.RemoteIpAddress = remoteIp)) { BaseAddress = new Uri(baseAddress) });

    /// <summary>The same cookies on another host.</summary>
    public Browser MoveTo(MamaHost host)
    {
        var moved = On(host);
        foreach (var (name, value) in Cookies) moved.Cookies[name] = value;
        return moved;
    }

    public Task<HttpResponseMessage> GetAsync(string url) => SendAsync(new HttpRequestMessage(HttpMethod.Get, url));

    public Task<HttpResponseMessage> PostFormAsync(string url, Dictionary<string, string> form) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) });

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        foreach (var (name, value) in Headers) request.Headers.TryAddWithoutValidation(name, value);
        if (Cookies.Count > 0) request.Headers.Add("Cookie", string.Join("; ", Cookies.Select(c => $"{c.Key}={c.Value}")));
        var response = await client.SendAsync(request);
        foreach (var setCookie in SetCookies(response))
        {
            var pair = setCookie.Split(';')[0];
            var (name, value) = (pair[..pair.IndexOf('=')], pair[(pair.IndexOf('=') + 1)..]);
            if (value.Length == 0 || setCookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase)) Cookies.Remove(name);
            else Cookies[name] = value;
        }
        return response;
    }

    public static IEnumerable<string> SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [];

    /// <summary>Signs in through the login form, as a person would: the page's antiforgery token, then the post.</summary>
    public async Task<HttpResponseMessage> SignInAsync(string username, string password, string returnUrl = "/")
    {
        var form = await FormTokenAsync("/login");
        form["_handler"] = "login";
        form["Input.Username"] = username;
        form["Input.Password"] = password;
        form["ReturnUrl"] = returnUrl;
        return await PostFormAsync("/login", form);
    }

    /// <summary>The antiforgery field of the form on the page, ready to post back.</summary>
    public async Task<Dictionary<string, string>> FormTokenAsync(string page)
    {
        var html = await (await GetAsync(page)).Content.ReadAsStringAsync();
        var field = AntiforgeryField().Match(html);
        Assert.True(field.Success, $"The form on {page} carries an antiforgery token.");
        return new() { [field.Groups[1].Value] = WebUtility.HtmlDecode(field.Groups[2].Value) };
    }

    /// <summary>True when a page that needs a signed-in admin answers instead of sending to the sign-in page.</summary>
    public async Task<bool> IsSignedInAsync()
    {
        var response = await GetAsync("/account/password");
        return response.StatusCode == HttpStatusCode.OK;
    }

    public void Dispose() => client.Dispose();

    [GeneratedRegex("name=\"(__RequestVerificationToken)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
