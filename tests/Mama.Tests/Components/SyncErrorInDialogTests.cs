using Bunit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Components;

/// <summary>A user whose sync the proxy refused: a Korean page says why in Korean, with the proxy's own words quoted.</summary>
public abstract class SyncErrorInDialogTests(MamaApp app)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private const string ProxySaid = "Blocked by the \"budget\" policy hook";

    [Fact]
    public async Task TheRowAndTheEditDialogSayTheRefusalInKoreanWithTheProxysWordsVerbatim()
    {
        using var admin = await app.SuperAdminAsync();
        // Held for the whole test: the reconciler retries the user, and a lifted refusal would clear the error.
        app.LiteLlm.SetRefusal("/key/generate", 400, ProxySaid);
        try
        {
            var id = (await admin.CreateUsersAsync(1, organization: "org-" + Guid.NewGuid().ToString("N")[..10]))[0];
            await MamaApp.EventuallyAsync(async () =>
            {
                await using var db = app.NewDbContext();
                return await db.KeyUsers.AnyAsync(u => u.UserId == id && u.SyncError != null);
            }, "the refusal is recorded");
            await using var ui = new UiTest(app, culture: "ko");
            var expected = $"LiteLLM이 키 생성 요청을 거부했습니다 (400). 프록시의 응답: \"{ProxySaid}\"";

            var page = await UsersPageTests.SearchAsync(ui, id, expectedRows: 1);
            page.WaitForAssertion(() => Assert.Equal(expected, page.Find("[data-testid=sync] [data-testid=sync-error]").GetAttribute("aria-label")), Wait);
            page.Act(() => page.Find("[data-testid=users-grid] tbody tr.mud-table-row td:nth-child(2)").Click());
            var dialog = ui.Providers;
            dialog.WaitForAssertion(() => Assert.Equal(expected, dialog.Find(".mud-dialog [data-testid=sync-error]").TextContent.Trim()), Wait);
        }
        finally
        {
            app.LiteLlm.SetRefusal("/key/generate", null);
        }
    }
}

public sealed class SyncErrorInDialogTestsOnSqlite(SqliteApp app) : SyncErrorInDialogTests(app), IClassFixture<SqliteApp>;

public sealed class SyncErrorInDialogTestsOnPostgres(PostgresApp app) : SyncErrorInDialogTests(app), IClassFixture<PostgresApp>;
