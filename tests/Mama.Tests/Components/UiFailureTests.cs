using Bunit;
using Mama.Components.Pages.Users;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using MudBlazor;

namespace Mama.Tests.Components;

/// <summary>A failure inside a UI action is said in words and the page stays alive (bUnit fails a test on any unhandled exception).</summary>
public abstract class UiFailureTests(MamaApp app)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    /// <summary>The connection string with a one-second command timeout, so a locked table fails fast.</summary>
    protected abstract string ShortTimeout(string connectionString);

    [Fact]
    public async Task AnAuditLogThatCannotBeWrittenIsSaidInWordsAndThePageKeepsWorking()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["Mama:Audit:WriteTimeout"] = "00:00:01" });
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        await using var ui = new UiTest(host);
        var page = await UsersPageTests.SearchAsync(ui, id, expectedRows: 1);

        await using (await TableLock.HoldAsync(app.Database, "audit_events"))
        {
            UsersPageTests.KeyMenuItem(ui, page, $"Reveal the key of {id}");
            ui.Providers.WaitForAssertion(() => Assert.Contains(
                "Writing the audit event timed out. The request was refused so that nothing goes unaudited; try again shortly.", Snackbars(ui)), Wait);
        }
        Assert.StartsWith("sk-…", Key(page));

        await MamaApp.EventuallyAsync(async () => (await host.CreateClient().GetAsync("/health/ready")).IsSuccessStatusCode, "the audit writer recovers", Wait);
        UsersPageTests.KeyMenuItem(ui, page, $"Reveal the key of {id}");
        page.WaitForAssertion(() => Assert.Equal(app.LiteLlm.FindKeyByAlias(id)!.Key, Key(page)), Wait);
    }

    [Fact]
    public async Task ADatabaseThatDoesNotAnswerIsSaidInWordsAndTheDialogSavesOnceItIsBack()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["ConnectionStrings:Mama"] = ShortTimeout(app.Database.ConnectionString) });
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        await using var ui = new UiTest(host);
        var page = await UsersPageTests.SearchAsync(ui, id, expectedRows: 1);
        page.Act(() => page.Find("[data-testid=users-grid] tbody tr.mud-table-row td:nth-child(2)").Click());
        var dialog = ui.Providers;
        dialog.WaitForAssertion(() => Assert.Single(Organisation(dialog)), Wait);
        dialog.Act(() => Organisation(dialog).Single().Find("input").Input("while-down"));

        await using (await TableLock.HoldAsync(app.Database, "users"))
        {
            Save(dialog);
            dialog.WaitForAssertion(() => Assert.Contains("The database is unavailable right now. Nothing was changed; try again shortly.", Snackbars(ui)), Wait);
        }

        Save(dialog);
        dialog.WaitForAssertion(() => Assert.Empty(dialog.FindAll(".mud-dialog")), Wait);
        await using var db = app.NewDbContext();
        Assert.Equal("while-down", (await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id)).Organization);
    }

    private static string Snackbars(UiTest ui) => string.Join("\n", ui.Providers.FindAll(".mud-snackbar").Select(s => s.TextContent));

    private static string Key(IRenderedComponent<UsersPage> page) => page.Find("[data-testid=key]").TextContent.Trim();

    private static IEnumerable<IRenderedComponent<MudTextField<string>>> Organisation(IRenderedComponent<IComponent> dialog) =>
        dialog.FindComponents<MudTextField<string>>().Where(f => f.Instance.Label == "Organisation");

    private static void Save(IRenderedComponent<IComponent> dialog) =>
        dialog.Act(() => dialog.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Save").Click());
}

public sealed class UiFailureTestsOnSqlite(SqliteApp app) : UiFailureTests(app), IClassFixture<SqliteApp>
{
    protected override string ShortTimeout(string connectionString) => connectionString + ";Default Timeout=1";
}

public sealed class UiFailureTestsOnPostgres(PostgresApp app) : UiFailureTests(app), IClassFixture<PostgresApp>
{
    protected override string ShortTimeout(string connectionString) => connectionString + ";Command Timeout=1";
}
