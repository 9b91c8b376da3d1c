using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mama.Admins;
using Mama.ApiClients;
using Mama.Audit;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Cli;

/// <summary><c>dotnet Mama.dll import python-mama</c>, run as a real process against the original's schema, into mama on PostgreSQL.</summary>
public sealed class PythonMamaImportTests(PostgresApp app) : IClassFixture<PostgresApp>
{
    private const string LegacyApiKey = "the-old-server-api-key-0123";

    [Fact]
    public async Task ImportingThePythonMamaKeepsEveryKeyAdminPasswordAndEventAndASecondRunImportsNothingTwice()
    {
        await using var source = await PythonMamaDatabase.CreateAsync();
        var keys = new Dictionary<string, string> { ["홍길동"] = PlantedKeys.NewKey(), ["김 민지"] = PlantedKeys.NewKey(), ["ops.bot"] = PlantedKeys.NewKey() };
        await source.AddUserAsync("홍길동", keys["홍길동"], "연구소", ["gpt-4o", "claude-3"], ["chat"], "팀장");
        await source.AddUserAsync("김 민지", keys["김 민지"], "영업", ["gpt-4o"], ["chat", "search"]);
        await source.AddUserAsync("ops.bot", keys["ops.bot"], null, ["gpt-4o"], []);
        var refusedKey = PlantedKeys.NewKey();
        await source.AddUserAsync("a/b", refusedKey, "x", ["gpt-4o"], []);
        await source.AddUserAsync("not-sk", "pk-" + Guid.NewGuid().ToString("N"), "x", ["gpt-4o"], []);
        await source.AddAdminAsync("mama", "mama", superAdmin: true);
        await source.AddAdminAsync("boss", "boss-old-password", superAdmin: true);
        await source.AddAdminAsync("clerk", "clerk-old-password", superAdmin: false);
        await source.AddEventAsync("홍길동", "boss", "user_create", "created 홍길동 with " + keys["홍길동"], "success");
        await source.AddEventAsync("김 민지", "clerk", "user_update", "models changed", "failure");
        await source.AddEventAsync(null, "boss", "login", "admin login", "success");
        // Written before the revision that made these columns strings: the rows of 김 민지 (2) and clerk (3).
        await source.AddEventAsync("2", "3", "user_delete", "by row ids", "success");
        foreach (var (id, key) in keys) await app.PlantAsync(id, key, ["gpt-4o"]);
        long lastEventBefore;
        await using (var db = app.NewDbContext()) lastEventBefore = await db.AuditEvents.MaxAsync(e => (long?)e.Id) ?? 0;

        var dryRun = await ImportAsync(source, "--dry-run", "--legacy-api-key", LegacyApiKey);
        Assert.True(dryRun.ExitCode == 0, dryRun.Output);
        Assert.Contains("Would register the API client 'legacy' (scope all)", dryRun.Output);
        Assert.Contains("users 3 new, 0 already imported, 2 refused", dryRun.Output);
        Assert.Contains("admins 3 new", dryRun.Output);
        Assert.Contains("event logs 4 new", dryRun.Output);
        Assert.Contains("refused: user 'a/b' (row 4): user ID: Must not contain '/'.", dryRun.Output);
        Assert.Contains("refused: user 'not-sk' (row 5): key: A key must start with 'sk-'.", dryRun.Output);
        Assert.DoesNotContain("sk-planted", dryRun.Output);
        Assert.DoesNotContain(LegacyApiKey, dryRun.Output);
        await using (var db = app.NewDbContext()) Assert.False(await db.KeyUsers.AnyAsync(u => keys.Keys.Contains(u.UserId)));

        var first = await ImportAsync(source, "--legacy-api-key", LegacyApiKey);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("users 3 new, 0 already imported, 2 refused, 0 in conflict; admins 3 new", first.Output);
        Assert.DoesNotContain("sk-planted", first.Output);
        Assert.DoesNotContain(LegacyApiKey, first.Output);

        // The key may come from the environment instead, as it did for the Python mama.
        var second = await ImportAsync(source, [], new() { ["MAMA_LEGACY_API_KEY"] = LegacyApiKey });
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("users 0 new, 3 already imported, 2 refused, 0 in conflict; admins 0 new, 3 already imported, 0 refused; event logs 0 new, 4 already imported", second.Output);
        Assert.Contains("already holds this key: skipped", second.Output);

        // The legacy client answers as the original did, once the reconciler has adopted the keys on the proxy.
        using var legacy = app.CreateClient();
        legacy.DefaultRequestHeaders.Add("x-api-key", LegacyApiKey);
        var found = new List<JsonElement>();
        await MamaApp.EventuallyAsync(async () =>
        {
            found = await (await legacy.PostAsJsonAsync("/key/info", new { user_ids = keys.Keys })).ReadAsync<List<JsonElement>>();
            return found.Count == keys.Count;
        }, "the imported users' keys are live");
        Assert.Equal(keys.OrderBy(k => k.Key, StringComparer.Ordinal).ToList(),
            found.Select(f => KeyValuePair.Create(f.GetProperty("user_id").GetString()!, f.GetProperty("user_key").GetString()!)).OrderBy(k => k.Key, StringComparer.Ordinal).ToList());
        foreach (var key in keys.Values)
            Assert.Equal(1, app.LiteLlm.Calls.Snapshot().Single(c => c.Token == LiteLlmClient.HashKey(key)).Generated);
        Assert.Null(app.LiteLlm.FindKeyByAlias("a/b"));

        using var admin = await app.SuperAdminAsync();
        var (lookup, _) = await app.NewLookupClientAsync(admin);
        var hong = await (await lookup.GetAsync("/api/v1/keys/" + Uri.EscapeDataString("홍길동"))).ReadAsync<LookedUpUser>();
        Assert.Equal((keys["홍길동"], "연구소", "팀장", "synced"), (hong.Key, hong.Organization, hong.ExtraInfo, hong.SyncState));
        Assert.Equal(["claude-3", "gpt-4o"], hong.AllowedModels);
        Assert.Equal(["chat"], hong.AllowedServices);
        var minji = await (await lookup.GetAsync("/api/v1/keys/" + Uri.EscapeDataString("김 민지"))).ReadAsync<LookedUpUser>();
        Assert.Equal(["chat", "search"], minji.AllowedServices);

        await AssertAdminsSignInWithTheirOldPasswordsAsync();

        var history = await (await admin.GetAsync("/api/v1/audit?user_id=" + Uri.EscapeDataString("홍길동") + "&action=user_create")).ReadAsync<AuditPage>();
        var created = Assert.Single(history.Items);
        Assert.Equal(("boss", "success", "imported from the Python mama"), (created.Actor, created.Result, created.Reason));
        Assert.Equal(new DateTimeOffset(PythonMamaDatabase.CreatedAt), created.At);
        Assert.DoesNotContain("sk-planted", created.Detail.GetRawText());
        var byRowIds = await (await admin.GetAsync("/api/v1/audit?user_id=" + Uri.EscapeDataString("김 민지") + "&action=user_delete")).ReadAsync<AuditPage>();
        Assert.Equal("clerk", Assert.Single(byRowIds.Items).Actor);
        var runs = (await (await admin.GetAsync("/api/v1/audit?action=import.python_mama")).ReadAsync<AuditPage>()).Items.Where(e => e.Id > lastEventBefore).ToList();
        Assert.Equal(2, runs.Count);
        Assert.All(runs, run => Assert.Equal("system:cli", run.Actor));
        Assert.Equal([3, 0], runs.Select(run => run.Detail.GetProperty("users").GetProperty("new").GetInt32()).Order().Reverse());
    }

    [Fact]
    public async Task UsersMamaAlreadyHasUnderAnotherKeyStopTheRunUntilTheOperatorSaysSkipOrFail()
    {
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync([UserTestData.Row("박지성")]);
        string mamasKey;
        await using (var db = app.NewDbContext()) mamasKey = await db.KeyUsers.Where(u => u.UserId == "박지성").Select(u => u.KeyHash).SingleAsync();
        await using var source = await PythonMamaDatabase.CreateAsync();
        await source.AddUserAsync("박지성", PlantedKeys.NewKey(), "x", ["gpt-4o"], []);
        await source.AddUserAsync("이순신", PlantedKeys.NewKey(), "x", ["gpt-4o"], []);
        await source.AddUserAsync("한결", PlantedKeys.NewKey(), "x", ["gpt-4o"], []);
        await source.AddUserAsync("한결".Normalize(System.Text.NormalizationForm.FormD), PlantedKeys.NewKey(), "x", ["gpt-4o"], []);

        var refused = await ImportAsync(source);
        Assert.True(refused.ExitCode == 2, refused.Output);
        Assert.Contains("conflict: user '박지성' (row 1): mama already has a user with this ID and another key", refused.Output);
        Assert.Contains("--on-conflict", refused.Output);
        await using (var db = app.NewDbContext()) Assert.False(await db.KeyUsers.AnyAsync(u => u.UserId == "이순신"));

        var skipped = await ImportAsync(source, "--on-conflict", "skip");
        Assert.True(skipped.ExitCode == 0, skipped.Output);
        Assert.Contains("users 1 new, 0 already imported, 2 refused, 1 in conflict", skipped.Output);
        Assert.Contains("refused: user '한결' (row 3): user ID: the same as row(s) 4 after Unicode NFC normalisation", skipped.Output);
        await using (var db = app.NewDbContext())
        {
            Assert.True(await db.KeyUsers.AnyAsync(u => u.UserId == "이순신"));
            Assert.False(await db.KeyUsers.AnyAsync(u => u.UserId == "한결"));
            Assert.Equal(mamasKey, await db.KeyUsers.Where(u => u.UserId == "박지성").Select(u => u.KeyHash).SingleAsync());
        }

        var failed = await ImportAsync(source, "--on-conflict", "fail");
        Assert.True(failed.ExitCode == 1, failed.Output);
        Assert.Contains("users 0 new, 1 already imported, 2 refused, 1 in conflict", failed.Output);
    }

    private async Task AssertAdminsSignInWithTheirOldPasswordsAsync()
    {
        using var client = app.CreateClient();
        await MamaApp.TokenAsync(client, "boss", "boss-old-password");
        await MamaApp.TokenAsync(client, "clerk", "clerk-old-password");
        using var defaultAccount = await app.SignInAsync("mama", "mama");
        var me = await (await defaultAccount.GetAsync("/api/v1/auth/me")).ReadAsync<MeResponse>();
        Assert.Equal(("SuperAdmin", true), (me.Role, me.MustChangePassword));
        using var boss = await app.SignInAsync("boss", "boss-old-password");
        Assert.False((await (await boss.GetAsync("/api/v1/auth/me")).ReadAsync<MeResponse>()).MustChangePassword);
        Assert.Equal("Admin", (await (await client.SendAsync(Bearer(await MamaApp.TokenAsync(client, "clerk", "clerk-old-password")))).ReadAsync<MeResponse>()).Role);

        await using var db = app.NewDbContext();
        var bossHash = await db.Users.Where(a => a.UserName == "boss").Select(a => a.PasswordHash!).SingleAsync();
        Assert.False(BcryptPasswordHasher.IsBcrypt(bossHash));
        var identity = new PasswordHasher<AdminAccount>();
        Assert.Equal(PasswordVerificationResult.Success, identity.VerifyHashedPassword(new AdminAccount(), bossHash, "boss-old-password"));
    }

    private static HttpRequestMessage Bearer(TokenResponse token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/auth/me");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token.AccessToken);
        return request;
    }

    private Task<(int ExitCode, string Output)> ImportAsync(PythonMamaDatabase source, params string[] options) => ImportAsync(source, options, []);

    private Task<(int ExitCode, string Output)> ImportAsync(PythonMamaDatabase source, string[] options, Dictionary<string, string?> environment) =>
        MamaProcess.RunVerbAsync(app.Database.Folder, new Dictionary<string, string?>(environment)
        {
            ["Database__Provider"] = app.Database.Provider,
            ["ConnectionStrings__Mama"] = app.Database.ConnectionString,
            ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
            ["LiteLlm__UseEmulator"] = "false",
            ["LiteLlm__BaseUrl"] = app.Emulator.BaseUrl.ToString(),
            ["LiteLlm__MasterKey"] = MamaApp.MasterKey,
        }, ["import", "python-mama", "--from", source.ConnectionString, .. options], "Development");
}
