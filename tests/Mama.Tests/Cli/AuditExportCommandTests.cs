using System.Globalization;
using System.Text.Json;
using Mama.Audit;
using Mama.Components.Shared;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Cli;

/// <summary><c>dotnet Mama.dll audit export</c> as a real process on the fixture's database, while the fixture's mama serves HTTP.</summary>
public abstract class AuditExportCommandTests(MamaApp app)
{
    [Fact]
    public async Task JsonLinesHoldExactlyTheEventsFromTheInclusiveStartToTheExclusiveEndOldestFirstAndTheExportIsAudited()
    {
        var (tag, events) = await FourCreationsAsync();

        var run = await CliRun.AgainstAsync(app, "audit", "export", "--from", Time(events[1].At), "--to", Time(events[3].At), "--format", "jsonl");

        Assert.True(run.ExitCode == 0, run.Output);
        var lines = run.Output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var ids = lines.Select(l => l.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(ids.Order(), ids);
        var ours = lines.Where(l => l.GetProperty("user_ids").EnumerateArray().Any(id => id.GetString()!.EndsWith(tag, StringComparison.Ordinal))
            && l.GetProperty("action").GetString() == "user.create").ToList();
        Assert.Equal([events[1].Id, events[2].Id], ours.Select(l => l.GetProperty("id").GetInt64()));
        Assert.Equal(Time(events[1].At), ours[0].GetProperty("time").GetString());
        Assert.Equal(JsonValueKind.Object, ours[0].GetProperty("detail").ValueKind);
        Assert.Contains($"Exported {lines.Count} audit event(s).", run.Output);

        await using var db = app.NewDbContext();
        var audited = (await db.AuditEvents.Where(e => e.Action == "audit.export").ToListAsync())
            .Single(e => JsonDocument.Parse(e.Detail).RootElement.GetProperty("from").GetDateTimeOffset() == events[1].At);
        Assert.Equal("system:cli", audited.Actor);
        Assert.Equal(AuditResult.Success, audited.Result);
        var detail = JsonDocument.Parse(audited.Detail).RootElement;
        Assert.Equal((events[3].At, "jsonl", lines.Count), (detail.GetProperty("to").GetDateTimeOffset(), detail.GetProperty("format").GetString(), detail.GetProperty("count").GetInt32()));
    }

    [Fact]
    public async Task CsvHasTheAuditPagesColumnsAndNeutralisesAFormulaLookingValue()
    {
        var (tag, events) = await FourCreationsAsync();

        var file = Path.Combine(app.Database.Folder, $"audit-{tag}.csv");

        var run = await CliRun.AgainstAsync(app, "audit", "export", "--from", Time(events[0].At), "--to", Time(events[3].At.AddMilliseconds(1)), "--format", "csv", "--output", file);

        Assert.True(run.ExitCode == 0, run.Output);
        var bytes = await File.ReadAllBytesAsync(file);
        Assert.Equal([0xEF, 0xBB, 0xBF], bytes[..3]);
        var lines = System.Text.Encoding.UTF8.GetString(bytes[3..]).Split("\r\n");
        Assert.Equal(AuditCsv.Header, lines[0]);
        var ours = lines.Skip(1).Select(Csv.SplitLine).Where(f => f.Count == 11 && f[3] == "user.create" && f[4].EndsWith(tag, StringComparison.Ordinal)).ToList();
        Assert.Equal(events.Select(e => e.Id.ToString(CultureInfo.InvariantCulture)), ours.Select(f => f[0]));
        Assert.Equal("'-b" + tag, ours[1][4]);
        Assert.Equal(Time(events[1].At), ours[1][1]);
    }

    [Fact]
    public async Task OutputAppearsWholeInTheFileAndAFileThatCannotBeMovedInLeavesNothingBehind()
    {
        var (tag, events) = await FourCreationsAsync();
        var folder = Directory.CreateTempSubdirectory("mama-audit-export-").FullName;
        var file = Path.Combine(folder, "audit.jsonl");
        string[] range = ["--from", Time(events[0].At), "--to", Time(events[3].At.AddMilliseconds(1)), "--format", "jsonl"];

        var run = await CliRun.AgainstAsync(app, ["audit", "export", .. range, "--output", file]);

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains($"Written to {file}.", run.Output);
        var lines = (await File.ReadAllLinesAsync(file)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(events.Select(e => e.Id), lines.Where(l => l.GetProperty("action").GetString() == "user.create"
            && l.GetProperty("user_ids")[0].GetString()!.EndsWith(tag, StringComparison.Ordinal)).Select(l => l.GetProperty("id").GetInt64()));
        Assert.Equal([file], Directory.GetFiles(folder));

        var blocked = Path.Combine(folder, "a-directory");
        Directory.CreateDirectory(blocked);
        var failed = await CliRun.AgainstAsync(app, ["audit", "export", .. range, "--output", blocked]);

        Assert.True(failed.ExitCode == 1, failed.Output);
        Assert.StartsWith("mama: ", failed.Output.Trim());
        Assert.DoesNotContain("   at ", failed.Output);
        Assert.Equal([file], Directory.GetFiles(folder));
        Assert.Empty(Directory.GetFileSystemEntries(blocked));
        Directory.Delete(folder, recursive: true);
    }

    [Theory]
    [InlineData("yesterday", "--from: 'yesterday' is not an ISO 8601 date or date-time")]
    [InlineData("11/30/2026", "--from: '11/30/2026' is not an ISO 8601 date or date-time")]
    [InlineData("2026-12-02", "--from must not be after --to.")]
    public async Task ABadFromIsAUsageErrorWithExitCodeTwoThatSaysWhy(string from, string expected)
    {
        var run = await CliRun.AgainstAsync(app, "audit", "export", "--from", from, "--to", "2026-12-01", "--format", "csv");

        Assert.True(run.ExitCode == 2, run.Output);
        Assert.Contains(expected, run.Output);
        Assert.Contains("audit export --help", run.Output);
    }

    /// <summary>Four users created one request each (the second with a formula-looking ID): their user.create events, oldest first.</summary>
    private async Task<(string Tag, List<AuditEvent> Events)> FourCreationsAsync()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        using var admin = await app.SuperAdminAsync();
        foreach (var id in new[] { "a", "-b", "c", "d" }) await admin.CreateUsersAsync([UserTestData.Row(id + tag)]);
        await using var db = app.NewDbContext();
        var events = await db.AuditEvents.Where(e => e.Action == "user.create" && e.UserIds.Contains(tag)).OrderBy(e => e.Id).ToListAsync();
        Assert.Equal(4, events.Count);
        Assert.True(events[0].At < events[1].At && events[1].At < events[2].At && events[2].At < events[3].At);
        return (tag, events);
    }

    private static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
}

public sealed class AuditExportCommandTestsOnSqlite(SqliteApp app) : AuditExportCommandTests(app), IClassFixture<SqliteApp>;
public sealed class AuditExportCommandTestsOnPostgres(PostgresApp app) : AuditExportCommandTests(app), IClassFixture<PostgresApp>;
