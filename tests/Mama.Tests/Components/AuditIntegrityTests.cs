using Bunit;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using AuditPage = Mama.Components.Pages.Audit.AuditPage;

namespace Mama.Tests.Components;

/// <summary>The integrity panel of the audit page, on a database of each test's own (what it shows depends on the whole log).</summary>
public abstract class AuditIntegrityTests
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    protected abstract MamaApp NewApp();

    [Fact]
    public async Task ALogNeverVerifiedSaysSoAndThatNoCheckpointIsSignedYetInEnglishAndKorean()
    {
        await using var app = await StartAsync();

        await using var ui = new UiTest(app);
        var page = ui.Render<AuditPage>();
        page.WaitForAssertion(() => Assert.Equal("Never verified", Status(page)), Wait);
        Assert.Equal("No checkpoint yet", page.Find("[data-testid='audit-checkpoint']").TextContent.Trim());
        Assert.Equal("Verify now", page.Find("[data-testid='audit-verify']").TextContent.Trim());
        Assert.Equal("polite", page.Find("[data-testid='audit-integrity-status']").GetAttribute("aria-live"));

        await using var ko = new UiTest(app, culture: "ko");
        var korean = ko.Render<AuditPage>();
        korean.WaitForAssertion(() => Assert.Equal("아직 검증한 적 없음", Status(korean)), Wait);
        Assert.Equal("무결성", korean.Find("#audit-integrity-heading").TextContent);
        Assert.Equal("지금 검증", korean.Find("[data-testid='audit-verify']").TextContent.Trim());
    }

    [Fact]
    public async Task VerifyNowShowsTheLogIntactWithTheCountTheVerificationCheckedWhoRanItAndTheLatestCheckpoint()
    {
        await using var app = await StartAsync();
        var signed = await app.Service<AuditCheckpoints>().SignHeadAsync(now: true, CancellationToken.None);
        var chained = await ChainLengthAsync(app);

        await using var ui = new UiTest(app, "integrity-admin", Mama.Admins.Roles.Admin);
        var page = ui.Render<AuditPage>();
        page.WaitForAssertion(() => Assert.Equal("Never verified", Status(page)), Wait);
        Assert.StartsWith($"Latest signed checkpoint: seq {signed!.Seq:N0},", page.Find("[data-testid='audit-checkpoint']").TextContent.Trim());
        page.Act(() => page.Find("[data-testid='audit-verify']").Click());

        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("[data-testid='audit-intact']")), Wait);
        var last = await app.Service<AuditVerification>().LastAsync(CancellationToken.None);
        Assert.True(last!.Ok);
        Assert.Equal("integrity-admin", last.Actor);
        Assert.True(last.Checked >= chained, $"{last.Checked} checked, {chained} chained before");
        Assert.Equal($"Intact: {last.Checked:N0} events checked", page.Find("[data-testid='audit-intact']").TextContent.Trim());
        Assert.Contains("Last verified ", Status(page));
        Assert.EndsWith(" by integrity-admin", Status(page));
        Assert.Empty(page.FindAll("[data-testid='audit-broken']"));
        Assert.False(page.Find("[data-testid='audit-verify']").HasAttribute("disabled"));
    }

    [Fact]
    public async Task AfterAnEventIsEditedWithSqlVerifyNowShowsTheLogBrokenInRedNamingTheEventWhichOpensInTheLog()
    {
        await using var app = await StartAsync();
        long edited;
        await using (var db = app.NewDbContext())
        {
            var chain = await db.AuditEvents.AsNoTracking().Where(e => e.Seq != null).OrderBy(e => e.Seq).Select(e => e.Id).ToListAsync();
            edited = chain[^3];
            var forged = """{"organization":"forged"}""";
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Detail" = {forged} WHERE "Id" = {edited}""");
        }

        await using var ui = new UiTest(app);
        var page = ui.Render<AuditPage>();
        page.WaitForAssertion(() => Assert.Equal("Never verified", Status(page)), Wait);
        page.Act(() => page.Find("[data-testid='audit-verify']").Click());

        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("[data-testid='audit-broken']")), Wait);
        var broken = page.Find("[data-testid='audit-broken']");
        Assert.Contains("Broken: an event was changed", broken.TextContent);
        Assert.Contains("mud-error-text", broken.QuerySelector(".mud-typography")!.ClassName);
        Assert.NotNull(broken.QuerySelector("svg"));
        Assert.Contains($"Event {edited} (seq ", page.Find("[data-testid='audit-broken-message']").TextContent);
        Assert.Contains("was changed", page.Find("[data-testid='audit-broken-message']").TextContent);
        var eventButton = page.Find("[data-testid='audit-broken-event']");
        Assert.Equal(edited.ToString(System.Globalization.CultureInfo.CurrentCulture), eventButton.TextContent.Trim());
        Assert.Equal($"Show event {edited} in the log", eventButton.GetAttribute("aria-label"));
        Assert.Empty(page.FindAll("[data-testid='audit-intact']"));

        page.Act(() => page.Find("[data-testid='audit-broken-event']").Click());
        page.WaitForAssertion(() => Assert.Contains("forged", page.Find($"[data-testid='detail-{edited}']").TextContent), Wait);
        Assert.Equal("true", page.Find($"[data-testid='expand-{edited}']").GetAttribute("aria-expanded"));
        Assert.Equal($"expand-{edited}", page.Find("[data-testid='audit-table'] tbody [data-testid^='expand-']").GetAttribute("data-testid"));
    }

    protected async Task<MamaApp> StartAsync()
    {
        var app = NewApp();
        await app.InitializeAsync();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(4);
        return app;
    }

    protected static string Status(IRenderedComponent<AuditPage> page) =>
        page.Find("[data-testid='audit-integrity-status']").TextContent.Trim();

    private static async Task<int> ChainLengthAsync(MamaApp app)
    {
        await using var db = app.NewDbContext();
        return await db.AuditEvents.CountAsync(e => e.Seq != null);
    }
}

public sealed class AuditIntegrityTestsOnSqlite : AuditIntegrityTests
{
    protected override MamaApp NewApp() => new SqliteApp();
}

public sealed class AuditIntegrityTestsOnPostgres : AuditIntegrityTests
{
    protected override MamaApp NewApp() => new PostgresApp();

    /// <summary>Only PostgreSQL can hold the first verification at the events table: SQLite in WAL mode lets it read on.</summary>
    [Fact]
    public async Task WhileAVerificationRunsItsProgressShowsTheButtonIsDisabledAndASecondOneIsRefusedInWords()
    {
        await using var app = await StartAsync();
        await using var first = new UiTest(app);
        var running = first.Render<AuditPage>();
        running.WaitForAssertion(() => Assert.Equal("Never verified", Status(running)), Wait);
        await using var second = new UiTest(app);
        var other = second.Render<AuditPage>();
        other.WaitForAssertion(() => Assert.Equal("Never verified", Status(other)), Wait);

        await using (await TableLock.HoldAsync(app.Database, "audit_events"))
        {
            running.Act(() => running.Find("[data-testid='audit-verify']").Click());
            running.WaitForAssertion(() => Assert.Equal("Verifying… 0 events checked", Status(running)), Wait);
            Assert.True(running.Find("[data-testid='audit-verify']").HasAttribute("disabled"));
            Assert.Equal("Verifying the audit log", running.Find("[role='progressbar']").GetAttribute("aria-label"));

            other.Act(() => other.Find("[data-testid='audit-verify']").Click());
            second.Providers.WaitForAssertion(() => Assert.Contains(
                "A verification of the audit log is already running on this server; try again when it ends.", second.Providers.Markup), Wait);
            other.WaitForAssertion(() => Assert.False(other.Find("[data-testid='audit-verify']").HasAttribute("disabled")), Wait);
        }

        running.WaitForAssertion(() => Assert.NotEmpty(running.FindAll("[data-testid='audit-intact']")), Wait);
        Assert.False(running.Find("[data-testid='audit-verify']").HasAttribute("disabled"));
    }
}
