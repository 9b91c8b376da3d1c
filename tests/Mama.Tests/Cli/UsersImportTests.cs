using System.Net;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Cli;

/// <summary><c>dotnet Mama.dll import users</c>, run as a real process: one mama's export, with keys, moved into a second, empty mama on PostgreSQL.</summary>
public sealed class UsersImportTests(PostgresApp app) : IClassFixture<PostgresApp>
{
    [Fact]
    public async Task AnExportWithKeysMovesEveryUserAndKeyIntoAnEmptyMamaAndASecondRunImportsNothingTwice()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (kim, hong, bot) = ("김 민지 " + tag, "홍길동" + tag, "-ops.bot+" + tag);
        var keys = new Dictionary<string, string> { [kim] = PlantedKeys.NewKey(), [hong] = PlantedKeys.NewKey() };
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([
            new { user_id = kim, organization = "영업, 서울", allowed_models = new[] { "gpt-4o" }, allowed_services = new[] { "chat", "search" }, extra_info = "=1+1\n둘째 줄 \"따옴표\"", key = keys[kim] },
            new { user_id = hong, organization = "연구소", allowed_models = new[] { "gpt-4o", "claude-3" }, allowed_services = Array.Empty<string>(), extra_info = "팀장", key = keys[hong] },
            UserTestData.Row(bot, "@ops"),
        ], allowUnknownModels: true);
        keys[bot] = await MamaKeyAsync(bot);

        await using var target = new PostgresApp();
        await target.InitializeAsync();
        var csv = await ExportAsync(admin, tag, "csv", target.Database.Folder);
        var jsonl = await ExportAsync(admin, tag, "jsonl", target.Database.Folder);

        var dryRun = await ImportAsync(target, csv, "--dry-run");
        Assert.True(dryRun.ExitCode == 0, dryRun.Output);
        Assert.Contains("Would import: users 3 new, 0 already imported, 0 refused, 0 in conflict", dryRun.Output);
        AssertNoKeyIn(dryRun.Output, keys);
        await using (var db = target.NewDbContext()) Assert.Equal(0, await db.KeyUsers.CountAsync());

        var first = await ImportAsync(target, csv);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("Imported: users 3 new, 0 already imported, 0 refused, 0 in conflict", first.Output);
        AssertNoKeyIn(first.Output, keys);

        var again = await ImportAsync(target, csv);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("users 0 new, 3 already imported, 0 refused, 0 in conflict", again.Output);
        var sameUsersAsJsonLines = await ImportAsync(target, jsonl, "--on-conflict", "fail");
        Assert.True(sameUsersAsJsonLines.ExitCode == 0, sameUsersAsJsonLines.Output);
        Assert.Contains("users 0 new, 3 already imported, 0 refused, 0 in conflict", sameUsersAsJsonLines.Output);

        using var targetAdmin = await target.SuperAdminAsync();
        var (sourceLookup, _) = await app.NewLookupClientAsync(admin);
        var (targetLookup, _) = await target.NewLookupClientAsync(targetAdmin);
        foreach (var id in keys.Keys)
        {
            var before = await (await sourceLookup.GetAsync("/api/v1/keys/" + Uri.EscapeDataString(id))).ReadAsync<LookedUpUser>();
            LookedUpUser after = null!;
            await MamaApp.EventuallyAsync(async () =>
            {
                after = await (await targetLookup.GetAsync("/api/v1/keys/" + Uri.EscapeDataString(id))).ReadAsync<LookedUpUser>();
                return after.SyncState == "synced";
            }, $"the second mama has synced {id}");
            Assert.Equal(keys[id], after.Key);
            Assert.Equal((before.UserId, before.Key, before.Organization, before.ExtraInfo), (after.UserId, after.Key, after.Organization, after.ExtraInfo));
            Assert.Equal(before.AllowedModels, after.AllowedModels);
            Assert.Equal(before.AllowedServices, after.AllowedServices);
            Assert.Equal(keys[id], target.LiteLlm.FindKeyByAlias(id)!.Key);
        }
        await using (var source = app.NewDbContext())
        await using (var db = target.NewDbContext())
        {
            var created = await source.KeyUsers.Where(u => keys.Keys.Contains(u.UserId)).OrderBy(u => u.UserId).Select(u => new { u.UserId, u.CreatedAt }).ToListAsync();
            Assert.Equal(created, await db.KeyUsers.OrderBy(u => u.UserId).Select(u => new { u.UserId, u.CreatedAt }).ToListAsync());
        }

        var runs = await (await targetAdmin.GetAsync("/api/v1/audit?action=import.users")).ReadAsync<AuditPage>();
        Assert.Equal(3, runs.Items.Count);
        Assert.All(runs.Items, run => Assert.Equal("system:cli", run.Actor));
        Assert.Equal([3, 0, 0], runs.Items.Select(run => run.Detail.GetProperty("users").GetProperty("new").GetInt32()).Order().Reverse());
        Assert.All(runs.Items, run => AssertNoKeyIn(run.Detail.GetRawText(), keys));
    }

    [Fact]
    public async Task UsersWithoutAKeyInTheFileGetANewOneAndBadRowsAreRefusedWithTheirReason()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        await using var target = new PostgresApp();
        await target.InitializeAsync();
        var file = Path.Combine(target.Database.Folder, "hand-made.csv");
        await File.WriteAllTextAsync(file,
            "user_id,organization,allowed_models,allowed_services,extra_info,key\r\n" +
            $"박지성 {tag},축구,gpt-4o;claude-3,chat,,\r\n" +
            $"a/b{tag},x,gpt-4o,,,\r\n" +
            $"short{tag},x,gpt-4o,,,sk-short\r\n");

        var first = await ImportAsync(target, file);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("users 1 new, 0 already imported, 2 refused, 0 in conflict", first.Output);
        Assert.Contains($"refused: user 'a/b{tag}' (row 2): user ID: Must not contain '/'.", first.Output);
        Assert.Contains($"refused: user 'short{tag}' (row 3): key: A key must be at least 16 characters long.", first.Output);
        Assert.DoesNotContain("sk-short", first.Output);
        var again = await ImportAsync(target, file);
        Assert.Contains("users 0 new, 1 already imported, 2 refused, 0 in conflict", again.Output);

        using var targetAdmin = await target.SuperAdminAsync();
        var (lookup, _) = await target.NewLookupClientAsync(targetAdmin);
        LookedUpUser park = null!;
        await MamaApp.EventuallyAsync(async () =>
        {
            park = await (await lookup.GetAsync("/api/v1/keys/" + Uri.EscapeDataString($"박지성 {tag}"))).ReadAsync<LookedUpUser>();
            return park.SyncState == "synced";
        }, "the new user is synced");
        Assert.StartsWith("sk-", park.Key);
        Assert.Equal(park.Key, target.LiteLlm.FindKeyByAlias($"박지성 {tag}")!.Key);
        Assert.Equal(["claude-3", "gpt-4o"], park.AllowedModels);
        await using (var db = target.NewDbContext()) Assert.Null((await db.KeyUsers.SingleAsync(u => u.UserId == $"박지성 {tag}")).ExpiresAt); // a file from before expires_at
    }

    [Fact]
    public async Task AnExpiresAtColumnGivesEachImportedKeyItsEndAndAKeyPastItsEndArrivesBlocked()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (ended, ends, lasts) = ("ended" + tag, "ends" + tag, "lasts" + tag);
        await using var target = new PostgresApp();
        await target.InitializeAsync();
        var file = Path.Combine(target.Database.Folder, "with-ends.csv");
        await File.WriteAllTextAsync(file,
            "user_id,organization,allowed_models,allowed_services,extra_info,key,expires_at\r\n" +
            $"{ended},x,gpt-4o,,,,2020-01-01T00:00:00Z\r\n" +
            $"{ends},x,gpt-4o,,,,2031-02-03T13:05:06+09:00\r\n" +
            $"{lasts},x,gpt-4o,,,,\r\n");

        var run = await ImportAsync(target, file);

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("users 3 new, 0 already imported, 0 refused, 0 in conflict", run.Output);
        await using (var db = target.NewDbContext())
        {
            var users = await db.KeyUsers.ToDictionaryAsync(u => u.UserId, u => u.ExpiresAt);
            Assert.Equal(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), users[ended]);
            Assert.Equal(new DateTimeOffset(2031, 2, 3, 4, 5, 6, TimeSpan.Zero), users[ends]);
            Assert.Null(users[lasts]);
        }
        await MamaApp.EventuallyAsync(() => Task.FromResult(new[] { ended, ends, lasts }.All(id => target.LiteLlm.FindKeyByAlias(id) is not null)), "the imported keys are on the proxy");
        Assert.True(target.LiteLlm.FindKeyByAlias(ended)!.Blocked);
        Assert.False(target.LiteLlm.FindKeyByAlias(ends)!.Blocked);
        Assert.False(target.LiteLlm.FindKeyByAlias(lasts)!.Blocked);
    }

    private async Task<string> MamaKeyAsync(string id)
    {
        await using var db = app.NewDbContext();
        var user = await db.KeyUsers.SingleAsync(u => u.UserId == id);
        return app.Service<Mama.Security.KeyProtector>().TryUnprotect(user.KeyCiphertext, user.KeyEncryptionKeyId, user.UserId)!;
    }

    private static async Task<string> ExportAsync(HttpClient admin, string tag, string format, string folder)
    {
        using var response = await admin.GetAsync($"/api/v1/users/export?include_keys=true&format={format}&search={Uri.EscapeDataString(tag)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var path = Path.Combine(folder, "export." + format);
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        return path;
    }

    private static void AssertNoKeyIn(string text, Dictionary<string, string> keys)
    {
        foreach (var key in keys.Values) Assert.DoesNotContain(key, text);
    }

    private static Task<(int ExitCode, string Output)> ImportAsync(MamaApp target, string file, params string[] options) =>
        MamaProcess.RunVerbAsync(target.Database.Folder, new Dictionary<string, string?>
        {
            ["Database__Provider"] = target.Database.Provider,
            ["ConnectionStrings__Mama"] = target.Database.ConnectionString,
            ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
            ["LiteLlm__UseEmulator"] = "false",
            ["LiteLlm__BaseUrl"] = target.Emulator.BaseUrl.ToString(),
            ["LiteLlm__MasterKey"] = MamaApp.MasterKey,
        }, ["import", "users", "--from", file, .. options], "Development");
}
