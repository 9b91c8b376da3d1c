using AngleSharp.Dom;
using Bunit;
using Mama.Components.Pages.Users;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>The users page's export and key menu on the real UserService and database.</summary>
public sealed class UsersPageExportTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30); // generous: the full suite loads both cores

    [Fact]
    public async Task ExportCsvHoldsEveryUserTheFilterMatchesAcrossPagesAndNoKey()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(30, organization: tag);
        await using var ui = new UiTest(app);
        ui.JSInterop.SetupVoid("mama.download", _ => true).SetVoidResult();
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 25);

        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Export CSV").Click());

        page.WaitForAssertion(() => Assert.Single(ui.JSInterop.Invocations["mama.download"]), Wait);
        var csv = (string)ui.JSInterop.Invocations["mama.download"].Single().Arguments[2]!;
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("user_id,organization,allowed_models,allowed_services,extra_info,sync_state,created_at,updated_at", lines[0]);
        Assert.Equal(ids.Order(), lines.Skip(1).Select(l => l.Split(',')[0]).Order());
        Assert.All(lines.Skip(1), l => Assert.StartsWith($",{tag},gpt-4o,billing,,synced,", l[l.IndexOf(',')..]));
        Assert.DoesNotContain("sk-", csv);
    }

    [Fact]
    public async Task RevealingAKeyThatDoesNotDecryptShowsItAsUnreadableAndKeepsThePageAlive()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1, organization: tag))[0];
        await using (var db = app.NewDbContext())
        {
            var user = await db.KeyUsers.SingleAsync(u => u.UserId == id);
            user.KeyCiphertext = [.. user.KeyCiphertext[..^1], (byte)(user.KeyCiphertext[^1] ^ 0x5a)];
            await db.SaveChangesAsync();
        }
        await using var ui = new UiTest(app);
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: 1);

        UsersPageTests.KeyMenuItem(ui, page, $"Reveal the key of {id}");

        page.WaitForAssertion(() => Assert.Equal("unreadable", page.Find("[data-testid=key]").TextContent.Trim()), Wait);
        ui.Providers.WaitForAssertion(() => Assert.Contains("cannot be decrypted", ui.Providers.Markup), Wait);
    }

    [Fact]
    public async Task ExportCsvNeutralisesEveryLeadingCharacterASpreadsheetWouldRunAsAFormula()
    {
        var tag = Tag();
        using var admin = await app.SuperAdminAsync();
        string[] extras = ["=1+2", "+1", "-1", "@sum", "\t=1+2", "\r=1+2"];
        await admin.CreateUsersAsync(extras.Select((extra, i) => UserTestData.Row($"{tag}-{i}", tag, extraInfo: extra)));
        await using var ui = new UiTest(app);
        ui.JSInterop.SetupVoid("mama.download", _ => true).SetVoidResult();
        var page = await UsersPageTests.SearchAsync(ui, tag, expectedRows: extras.Length);

        page.Act(() => page.FindAll("button").Single(b => b.TextContent == "Export CSV").Click());

        page.WaitForAssertion(() => Assert.Single(ui.JSInterop.Invocations["mama.download"]), Wait);
        var csv = (string)ui.JSInterop.Invocations["mama.download"].Single().Arguments[2]!;
        Assert.All(extras.Where(e => e[0] != '\r'), e => Assert.Contains($",billing,'{e},synced,", csv));
        Assert.Contains(",billing,\"'\r=1+2\",synced,", csv);
    }

    private static string Tag() => "org-" + Guid.NewGuid().ToString("N")[..10];
}
