using System.Net;
using System.Text.RegularExpressions;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Http;

/// <summary>Where the sign-in form and the language switch send the browser afterwards.</summary>
public abstract partial class ReturnAddressTests(MamaApp app)
{
    public static TheoryData<string, string> ReturnAddresses => new()
    {
        // returnUrl as the browser sends it (decoded), the Location the redirect must carry
        { "/users?search=홍길동", "/users?search=%ED%99%8D%EA%B8%B8%EB%8F%99" },
        { "/users?search=a b&page=2", "/users?search=a%20b&page=2" },
        { "/users?search=a%26b", "/users?search=a%26b" }, // already encoded: kept, not encoded twice
        { "/audit", "/audit" },
        { "", "/" },
        { "users", "/" },
        { "//evil.example/", "/" },
        { "/\\evil.example/", "/" },
        { "/users\\..\\admins", "/" },
        { "https://evil.example/", "/" },
        { "javascript:alert(1)", "/" },
        { "/users\r\nSet-Cookie: stolen=1", "/" },
        { "/users\t", "/" },
        { "/\u200Busers", "/" },
        { "/users\u2028", "/" },
    };

    [Theory]
    [MemberData(nameof(ReturnAddresses))]
    public async Task TheLanguageSwitchReturnsOnlyToALocalAddressEncodedForTheHeader(string returnUrl, string expected)
    {
        using var browser = app.CreateClient();

        var response = await browser.GetAsync("/culture/ko?returnUrl=" + Uri.EscapeDataString(returnUrl));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expected, Location(response));
    }

    [Theory]
    [MemberData(nameof(ReturnAddresses))]
    public async Task SigningInReturnsOnlyToALocalAddressEncodedForTheHeader(string returnUrl, string expected)
    {
        var (username, password, _) = await app.NewAdminAsync();
        using var browser = app.CreateClient();

        var response = await SignInAsync(browser, "/login?returnUrl=" + Uri.EscapeDataString(returnUrl), username, password);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expected, Location(response));
    }

    [Fact]
    public async Task ANulInTheSignInFormIs400AndSignsNobodyIn()
    {
        using var browser = app.CreateClient();

        var response = await SignInAsync(browser, "/login", "admin\0", MamaApp.SuperAdminPassword);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith(".AspNetCore.Identity", StringComparison.Ordinal)));
    }

    /// <summary>The Location header as sent, made relative when the server wrote it absolute for this host.</summary>
    private static string Location(HttpResponseMessage response)
    {
        var raw = response.Headers.NonValidated["Location"].Single();
        return raw.StartsWith("http://localhost/", StringComparison.Ordinal) ? raw["http://localhost".Length..] : raw;
    }

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string action, string username, string password)
    {
        var page = await browser.GetStringAsync("/login");
        var antiforgery = AntiforgeryField().Match(page);
        Assert.True(antiforgery.Success, "The login form carries an antiforgery token.");
        return await browser.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [antiforgery.Groups[1].Value] = WebUtility.HtmlDecode(antiforgery.Groups[2].Value),
            ["_handler"] = "login",
            ["Input.Username"] = username,
            ["Input.Password"] = password,
        }));
    }

    [GeneratedRegex("name=\"(__RequestVerificationToken)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}

public sealed class ReturnAddressTestsOnSqlite(SqliteApp app) : ReturnAddressTests(app), IClassFixture<SqliteApp>;
public sealed class ReturnAddressTestsOnPostgres(PostgresApp app) : ReturnAddressTests(app), IClassFixture<PostgresApp>;
