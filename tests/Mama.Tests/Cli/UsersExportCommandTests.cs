using System.Text.Json;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Cli;

/// <summary><c>dotnet Mama.dll users export</c> and <c>users import</c> as real processes: one mama's users moved into a second, empty one.</summary>
public abstract class UsersExportCommandTests(MamaApp app)
{
    protected abstract MamaApp NewTarget();

    [Fact]
    public async Task UsersExportedWithKeysToAnOwnerOnlyFileImportIntoASecondMamaWithTheirKeysAndEveryBatchIsAuditedWithoutAKey()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (kim, formula) = ("김 민지 " + tag, "-ops.bot+" + tag);
        var keys = new Dictionary<string, string> { [kim] = PlantedKeys.NewKey(), [formula] = PlantedKeys.NewKey() };
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([
            new { user_id = kim, organization = "영업, 서울", allowed_models = new[] { "gpt-4o" }, allowed_services = new[] { "chat" }, extra_info = "=1+1", key = keys[kim] },
            new { user_id = formula, organization = "@ops", allowed_models = new[] { "gpt-4o" }, allowed_services = Array.Empty<string>(), extra_info = "", key = keys[formula] },
        ], allowUnknownModels: true);
        await using var target = NewTarget();
        await target.InitializeAsync();
        var file = Path.Combine(target.Database.Folder, "users-with-keys.jsonl");

        var export = await CliRun.AgainstAsync(app, "users", "export", "--format", "jsonl", "--include-keys", "--search", tag, "--output", file);

        Assert.True(export.ExitCode == 0, export.Output);
        Assert.Contains("Exported 2 user(s) with their keys.", export.Output);
        AssertNoKeyIn(export.Output, keys);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var rows = (await File.ReadAllLinesAsync(file)).Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(r => r.GetProperty("user_id").GetString()!);
        Assert.Equal(keys[kim], rows[kim].GetProperty("key").GetString());

        var import = await ImportAsync(target, file);

        Assert.True(import.ExitCode == 0, import.Output);
        Assert.Contains("Imported: users 2 new, 0 already imported, 0 refused, 0 in conflict", import.Output);
        using var targetAdmin = await target.SuperAdminAsync();
        var (lookup, _) = await target.NewLookupClientAsync(targetAdmin);
        foreach (var id in keys.Keys)
        {
            var user = await (await lookup.GetAsync("/api/v1/keys/" + Uri.EscapeDataString(id))).ReadAsync<LookedUpUser>();
            Assert.Equal(keys[id], user.Key);
        }
        await using (var db = target.NewDbContext())
        {
            var imported = await db.KeyUsers.SingleAsync(u => u.UserId == kim);
            Assert.Equal(("영업, 서울", "=1+1"), (imported.Organization, imported.ExtraInfo));
        }

        await using var source = app.NewDbContext();
        var cli = await source.AuditEvents.Where(e => e.Actor == "system:cli" && (e.UserIds.Contains(tag) || e.Detail.Contains(tag))).ToListAsync();
        var disclosed = Assert.Single(cli, e => e.Action == "user.read_key");
        Assert.Equal(keys.Keys.Order(), AuditEvent.SplitUserIds(disclosed.UserIds).Order());
        var summary = Assert.Single(cli, e => e.Action == "user.export");
        Assert.Contains("\"rows_sent\":2", summary.Detail);
        Assert.All(cli, e => AssertNoKeyIn(e.Detail + e.Reason, keys));
    }

    [Fact]
    public async Task UsersExportWithoutKeysToStandardOutputIsTheApisCsvWithNoKeyColumnAndNeutralisedFormulas()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var key = PlantedKeys.NewKey();
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([new { user_id = "@x" + tag, organization = "acme", allowed_models = new[] { "gpt-4o" }, allowed_services = Array.Empty<string>(), extra_info = "+1", key }],
            allowUnknownModels: true);

        var run = await CliRun.AgainstAsync(app, "users", "export", "--search", tag);

        Assert.True(run.ExitCode == 0, run.Output);
        using var response = await admin.GetAsync($"/api/v1/users/export?search={tag}");
        var header = (await response.Content.ReadAsStringAsync()).Split("\r\n")[0];
        Assert.Equal(header, run.Output.Split("\r\n")[0]);
        Assert.StartsWith("\uFEFFuser_id,organization,allowed_models,allowed_services,extra_info,created_at,", run.Output);
        Assert.Contains($"\r\n'@x{tag},acme,gpt-4o,,'+1,", run.Output);
        Assert.DoesNotContain(key, run.Output);
        await using var db = app.NewDbContext();
        Assert.True(await db.AuditEvents.AnyAsync(e => e.Actor == "system:cli" && e.Action == "user.read" && e.UserIds.Contains(tag)));
    }

    [Fact]
    public async Task AnOutputThatCannotBeWrittenIsExitCodeOneAndNoUserIsAuditedAsRead()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([UserTestData.Row("nowhere" + tag)]);
        var file = Path.Combine(app.Database.Folder, "no-such-folder-" + tag, "users.csv");

        var run = await CliRun.AgainstAsync(app, "users", "export", "--include-keys", "--search", tag, "--output", file);

        Assert.True(run.ExitCode == 1, run.Output);
        Assert.StartsWith("mama: cannot write the output: ", run.Output.Trim());
        await using var db = app.NewDbContext();
        Assert.False(await db.AuditEvents.AnyAsync(e => e.Actor == "system:cli" && (e.UserIds.Contains(tag) || e.Detail.Contains(tag))));
    }

    private static void AssertNoKeyIn(string text, Dictionary<string, string> keys)
    {
        foreach (var key in keys.Values) Assert.DoesNotContain(key, text);
    }

    private static Task<(int ExitCode, string Output)> ImportAsync(MamaApp target, string file) => CliRun.AgainstAsync(target, "users", "import", file);
}

public sealed class UsersExportCommandTestsOnSqlite(SqliteApp app) : UsersExportCommandTests(app), IClassFixture<SqliteApp>
{
    protected override MamaApp NewTarget() => new SqliteApp();
}

public sealed class UsersExportCommandTestsOnPostgres(PostgresApp app) : UsersExportCommandTests(app), IClassFixture<PostgresApp>
{
    protected override MamaApp NewTarget() => new PostgresApp();
}
