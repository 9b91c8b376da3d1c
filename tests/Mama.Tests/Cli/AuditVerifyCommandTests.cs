using System.Text.Json;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Cli;

/// <summary><c>audit verify</c> and <c>audit checkpoint</c> as real processes: their output and exit codes.</summary>
public abstract class AuditVerifyCommandTests
{
    protected abstract MamaApp NewApp();

    [Fact]
    public async Task VerifyExitsZeroOnAnIntactLogAndOneNamingTheEventOnceAnEventIsEdited()
    {
        await using var app = NewApp();
        await app.InitializeAsync();
        using (var admin = await app.SuperAdminAsync()) await admin.CreateUsersAsync(4);

        var checkpoint = await CliRun.AgainstAsync(app, "audit", "checkpoint", "--now");
        var intact = await CliRun.AgainstAsync(app, "audit", "verify");
        long edited;
        await using (var db = app.NewDbContext())
        {
            edited = await db.AuditEvents.Where(e => e.Action == "user.create").OrderBy(e => e.Seq).Select(e => e.Id).FirstAsync();
            await db.Database.ExecuteSqlAsync($"""UPDATE "audit_events" SET "Reason" = 'edited' WHERE "Id" = {edited}""");
        }
        var broken = await CliRun.AgainstAsync(app, "audit", "verify");

        Assert.True(checkpoint.ExitCode == 0, checkpoint.Output);
        var json = JsonDocument.Parse(checkpoint.Output.Split('\n').Single(l => l.StartsWith('{'))).RootElement;
        Assert.True(json.GetProperty("seq").GetInt64() > 4);
        Assert.Equal(64, json.GetProperty("signature").GetString()!.Length);
        Assert.True(intact.ExitCode == 0, intact.Output);
        Assert.Contains("OK: the audit log is intact", intact.Output);
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains($"BROKEN (content_changed, event {edited})", broken.Output);
        await using var check = app.NewDbContext();
        Assert.Equal(2, await check.AuditEvents.CountAsync(e => e.Action == "audit.verify" && e.Actor == "system:cli"));
    }

    [Fact]
    public async Task HelpDescribesVerifyAndCheckpointAndAnUnknownOptionIsAUsageError()
    {
        await using var app = NewApp();
        await app.InitializeAsync();

        var help = await CliRun.AgainstAsync(app, "audit", "verify", "--help");
        var checkpointHelp = await CliRun.AgainstAsync(app, "audit", "checkpoint", "--help");
        var wrong = await CliRun.AgainstAsync(app, "audit", "verify", "--fast");

        Assert.True(help.ExitCode == 0, help.Output);
        Assert.Contains("first broken event", help.Output);
        Assert.Contains("--now", checkpointHelp.Output);
        Assert.Equal(2, wrong.ExitCode);
    }
}

public sealed class AuditVerifyCommandTestsOnSqlite : AuditVerifyCommandTests
{
    protected override MamaApp NewApp() => new SqliteApp();
}

public sealed class AuditVerifyCommandTestsOnPostgres : AuditVerifyCommandTests
{
    protected override MamaApp NewApp() => new PostgresApp();
}
