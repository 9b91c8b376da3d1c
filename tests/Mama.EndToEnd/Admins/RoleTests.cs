using System.Reflection;
using Mama.EndToEnd.Infrastructure;
using Microsoft.AspNetCore.Components;

namespace Mama.EndToEnd.Admins;

public sealed class RoleTests(MamaE2E app) : BrowserTest(app)
{
    private static readonly string[] SuperAdminPages = ["/admins", "/api-clients"];

    [Fact]
    public async Task APlainAdminSeesNoSuperAdminLinksAndTypingTheirAddressesAnswers403()
    {
        await SignInAsNewAdminAsync();

        await Expect(NavLink("Users")).ToBeVisibleAsync();
        await Expect(NavLink("Audit log")).ToBeVisibleAsync();
        await Expect(NavLink("Admins")).ToHaveCountAsync(0);
        await Expect(NavLink("API clients")).ToHaveCountAsync(0);

        ExpectConsoleError("status of 403");
        var missing = new List<string>();
        foreach (var path in SuperAdminPages)
        {
            if (!PageExists(path))
            {
                missing.Add(path);
                continue;
            }
            var response = await GotoAsync(path);
            Assert.Equal(403, response.Status);
            await Expect(Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not allowed");
        }
        // Those pages are built on another branch; until they are merged there is no page to refuse.
        Assert.SkipWhen(missing.Count > 0, $"No page at {string.Join(", ", missing)} yet: the 403 check runs once it exists.");
    }

    private static bool PageExists(string path) =>
        typeof(Program).Assembly.GetTypes().SelectMany(t => t.GetCustomAttributes<RouteAttribute>()).Any(r => r.Template == path);
}
