using Bunit;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using AuditPage = Mama.Components.Pages.Audit.AuditPage;

namespace Mama.Tests.Components;

public sealed class AuditPageTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private static readonly Actor Tester = new("bunit", "10.0.0.9", null);

    [Fact]
    public async Task FilteringByActionAndUserShowsOnlyThoseEventsAndPagesThroughThemWithoutShifting()
    {
        var action = NewAction();
        var user = "u-" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 55; i++) await WriteAsync(action, [user, "someone-else"], new { n = i });
        for (var i = 0; i < 3; i++) await WriteAsync(action, ["another-user"], new { n = i });

        await using var ui = new UiTest(app, "adm-plain", Mama.Admins.Roles.Admin);
        var page = ui.Render<AuditPage>();
        Filter(page, action: action, user: user);

        page.WaitForAssertion(() => Assert.Equal("1–50 of 55", page.Find("[data-testid='audit-range']").TextContent));
        Assert.Equal(50, page.FindAll("[data-testid='audit-action-cell']").Count);
        Assert.All(page.FindAll("[data-testid='audit-action-cell']"), c => Assert.Equal(action, c.TextContent));

        await WriteAsync(action, [user], new { n = "later" }); // must not shift the pages already being read
        page.Find("button[aria-label='Next page']").Click();
        page.WaitForAssertion(() => Assert.Equal("51–55 of 55", page.Find("[data-testid='audit-range']").TextContent));
        Assert.Equal(5, page.FindAll("[data-testid='audit-action-cell']").Count);
        Assert.True(page.Find("button[aria-label='Next page']").HasAttribute("disabled"));

        Filter(page, action: action, user: user); // a new search takes a new snapshot
        page.WaitForAssertion(() => Assert.Equal("1–50 of 56", page.Find("[data-testid='audit-range']").TextContent));
    }

    [Fact]
    public async Task TheDetailOfAnEventExpandsPrettyPrinted()
    {
        var action = NewAction();
        await WriteAsync(action, ["detail-user"], new { username = "유진", changes = new { organization = new { before = "a", after = "b" } } });
        var id = (await app.Service<AuditQueries>().QueryAsync(new AuditQuery { Action = action }, CancellationToken.None)).Items.Single().Id;

        await using var ui = new UiTest(app);
        var page = ui.Render<AuditPage>();
        Filter(page, action: action);
        page.WaitForAssertion(() => Assert.Empty(page.FindAll($"[data-testid='detail-{id}']")));
        page.Find($"[data-testid='expand-{id}']").Click();

        page.WaitForAssertion(() => Assert.Contains("\"username\": \"유진\"", page.Find($"[data-testid='detail-{id}']").TextContent));
        var detail = page.Find($"[data-testid='detail-{id}']").TextContent;
        Assert.Contains("\n", detail);
        Assert.Contains("\"before\": \"a\"", detail);
        Assert.Equal("true", page.Find($"[data-testid='expand-{id}']").GetAttribute("aria-expanded"));
    }

    [Fact]
    public async Task ExportProducesCsvWithTheHeaderAndOnlyTheFilteredRowsQuotedPerRfc4180()
    {
        var action = NewAction();
        await WriteAsync(action, ["csv-1"], new { n = 1 });
        await WriteAsync(action, ["csv-2"], new { n = 2 }, reason: "has \"quotes\", and a comma");
        await WriteAsync(NewAction(), ["csv-other"], new { n = 3 });

        await using var ui = new UiTest(app);
        ui.JSInterop.SetupVoid("mama.download", _ => true).SetVoidResult();
        var page = ui.Render<AuditPage>();
        Filter(page, action: action);
        page.WaitForAssertion(() => Assert.Equal("1–2 of 2", page.Find("[data-testid='audit-range']").TextContent));
        page.Find("[data-testid='audit-export']").Click();

        page.WaitForAssertion(() => Assert.Single(ui.JSInterop.Invocations["mama.download"]));
        var args = ui.JSInterop.Invocations["mama.download"].Single().Arguments;
        Assert.EndsWith(".csv", (string)args[0]!);
        Assert.StartsWith("text/csv", (string)args[1]!);
        var lines = ((string)args[2]!).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(AuditCsv.Header, lines[0]);
        Assert.Equal(2, lines.Length - 1);
        Assert.All(lines.Skip(1), l => Assert.Contains($",bunit,{action},", l));
        Assert.Contains(",csv-2,failure,400,\"has \"\"quotes\"\", and a comma\",10.0.0.9,", lines[1]); // newest first
        Assert.EndsWith(",\"{\"\"n\"\":1}\"", lines[2]);
        ui.Providers.WaitForAssertion(() => Assert.Contains("Exported 2 events.", ui.Providers.Markup));
    }

    [Fact]
    public async Task FilteringByAKoreanUserIdWithASpaceShowsItsEventsNotThoseOfAnIdItEndsWithAndExportsTheIdsWhole()
    {
        var action = NewAction();
        var tag = Guid.NewGuid().ToString("N")[..6];
        string kim = $"김 민지{tag}", minji = $"민지{tag}";
        await WriteAsync(action, [kim, "홍길동"], new { n = 1 });
        await WriteAsync(action, [minji], new { n = 2 });

        await using var ui = new UiTest(app);
        ui.JSInterop.SetupVoid("mama.download", _ => true).SetVoidResult();
        var page = ui.Render<AuditPage>();
        Filter(page, action: action, user: kim);

        page.WaitForAssertion(() => Assert.Equal("1–1 of 1", page.Find("[data-testid='audit-range']").TextContent));
        Assert.Contains($"{kim}, 홍길동", page.Markup);
        page.Find("[data-testid='audit-export']").Click();
        page.WaitForAssertion(() => Assert.Single(ui.JSInterop.Invocations["mama.download"]));
        Assert.Contains($",bunit,{action},\"{kim};홍길동\",success,", (string)ui.JSInterop.Invocations["mama.download"].Single().Arguments[2]!);
    }

    [Theory]
    [InlineData("=cmd()", ",'=cmd(),")]
    [InlineData("\t=cmd()", ",'\t=cmd(),")]
    [InlineData("\r=cmd()", ",\"'\r=cmd()\",")]
    public async Task ExportNeutralisesAFormulaInAnyField(string reason, string expected)
    {
        var action = NewAction();
        await WriteAsync(action, ["csv-formula"], new { n = 1 }, reason: reason);

        await using var ui = new UiTest(app);
        ui.JSInterop.SetupVoid("mama.download", _ => true).SetVoidResult();
        var page = ui.Render<AuditPage>();
        Filter(page, action: action);
        page.WaitForAssertion(() => Assert.Equal("1–1 of 1", page.Find("[data-testid='audit-range']").TextContent));
        page.Find("[data-testid='audit-export']").Click();

        page.WaitForAssertion(() => Assert.Single(ui.JSInterop.Invocations["mama.download"]));
        Assert.Contains(",400" + expected, (string)ui.JSInterop.Invocations["mama.download"].Single().Arguments[2]!);
    }

    [Fact]
    public async Task KoreanCultureGivesKoreanLabels()
    {
        await using var ko = new UiTest(app, culture: "ko");
        var page = ko.Render<AuditPage>();
        Assert.Equal("감사 로그", page.Find("h1").TextContent);
        Assert.Equal("CSV 내보내기", page.Find("[data-testid='audit-export']").TextContent.Trim());
        Assert.Contains("수행자", page.FindAll("th").Select(th => th.TextContent.Trim()));
    }

    private static string NewAction() => "test." + Guid.NewGuid().ToString("N")[..12];

    private Task WriteAsync(string action, string[] userIds, object detail, string? reason = null) =>
        app.Service<AuditLog>().WriteAsync(new AuditEntry(Tester, action, reason is null ? AuditResult.Success : AuditResult.Failure,
            reason is null ? 200 : 400, userIds, detail, reason));

    private static void Filter(IRenderedComponent<AuditPage> page, string? action = null, string? user = null)
    {
        page.Find("#audit-action").Change(action ?? "");
        page.Find("#audit-user").Change(user ?? "");
        page.Find("form[data-testid='audit-filters']").Submit();
    }
}
