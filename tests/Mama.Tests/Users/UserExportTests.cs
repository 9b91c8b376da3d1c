using System.Net;
using System.Text;
using System.Text.Json;
using Mama.Audit;
using Mama.Components.Pages.Users;
using Mama.Components.Shared;
using Mama.LiteLlm;
using Mama.Security;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

/// <summary>GET /api/v1/users/export: CSV and JSON lines, streamed, keys only for super admins and audited batch by batch.</summary>
public abstract class UserExportTests(MamaApp app)
{
    [Fact]
    public async Task ACsvExportIsAnAttachmentWithABomThatHoldsTheUsersNeutralisesFormulasAndPastesBackIntoAddUsers()
    {
        var (name, admin) = await SuperAdminAsync();
        var tag = Tag();
        var (kim, hong, plus) = ("김 민지 " + tag, "홍길동" + tag, "+82-" + tag);
        await admin.CreateUsersAsync([
            UserTestData.Row(kim, "개발팀, 서울", ["gpt-4o", "claude-sonnet-4"], ["billing", "search"], "says \"hi\""),
            UserTestData.Row(hong, "=HYPERLINK(\"http://evil\")", extraInfo: "-1+1"),
            UserTestData.Row(plus, "@acme"),
        ]);

        using var response = await admin.GetAsync("/api/v1/users/export?search=" + Uri.EscapeDataString(tag));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Matches(@"\Amama-users-\d{8}-\d{6}\.csv\z", response.Content.Headers.ContentDisposition.FileName!.Trim('"'));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);
        var lines = Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3).Split("\r\n");
        Assert.Equal("user_id,organization,allowed_models,allowed_services,extra_info,created_at,updated_at,sync_state,expires_at", lines[0]);
        Assert.Equal(5, lines.Length); // header, three users, and the empty text after the last line end
        Assert.Equal([kim, "개발팀, 서울", "claude-sonnet-4;gpt-4o", "billing;search", "says \"hi\""], Csv.SplitLine(lines[1]).Take(5));
        Assert.Equal([hong, "'=HYPERLINK(\"http://evil\")", "gpt-4o", "billing", "'-1+1"], Csv.SplitLine(lines[2]).Take(5));
        Assert.Equal(["'" + plus, "'@acme"], Csv.SplitLine(lines[3]).Take(2));
        Assert.Equal("synced", Csv.SplitLine(lines[1])[7]);
        Assert.DoesNotContain("sk-", Encoding.UTF8.GetString(bytes));

        var pasted = UserDrafts.Parse(Encoding.UTF8.GetString(bytes));
        Assert.Equal([kim, hong, plus], pasted.Select(d => d.UserId));
        Assert.Equal(["개발팀, 서울", "says \"hi\""], [pasted[0].Organization, pasted[0].ExtraInfo]);
        Assert.Equal(["claude-sonnet-4", "gpt-4o"], pasted[0].Models.Order());
        Assert.All(pasted, d => Assert.Null(d.ToRequest().Key));
        Assert.Empty(UserDrafts.Check(pasted, servedModels: null));

        await using var db = app.NewDbContext();
        var read = await db.AuditEvents.SingleAsync(e => e.Actor == name && e.Action == "user.read");
        Assert.Equal([kim, hong, plus], AuditEvent.SplitUserIds(read.UserIds));
        Assert.False(await db.AuditEvents.AnyAsync(e => e.Actor == name && e.Action == "user.read_key"));
        var summary = await db.AuditEvents.SingleAsync(e => e.Actor == name && e.Action == "user.export");
        Assert.Equal((AuditResult.Success, 3L, true, false), Summary(summary));
    }

    [Fact]
    public async Task AJsonLinesExportHoldsOneObjectPerUserWithHangulAsItIsAndNoKey()
    {
        var (_, admin) = await SuperAdminAsync();
        var tag = Tag();
        var (kim, hong) = ("김 민지 " + tag, "홍길동" + tag);
        await admin.CreateUsersAsync([UserTestData.Row(kim, "개발팀", services: ["billing", "search"], extraInfo: "=1"), UserTestData.Row(hong)]);

        using var response = await admin.GetAsync($"/api/v1/users/export?format=jsonl&search={Uri.EscapeDataString(tag)}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/jsonl; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Matches(@"\Amama-users-\d{8}-\d{6}\.jsonl\z", response.Content.Headers.ContentDisposition!.FileName!.Trim('"'));
        var text = await response.Content.ReadAsStringAsync();
        Assert.NotEqual('\uFEFF', text[0]);
        Assert.Contains("\"user_id\":\"김 민지 ", text);
        var rows = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([kim, hong], rows.Select(r => r.GetProperty("user_id").GetString()));
        Assert.Equal("개발팀", rows[0].GetProperty("organization").GetString());
        Assert.Equal(["billing", "search"], rows[0].GetProperty("allowed_services").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["gpt-4o"], rows[0].GetProperty("allowed_models").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("=1", rows[0].GetProperty("extra_info").GetString()); // JSON is data: no spreadsheet prefix
        Assert.Equal("synced", rows[1].GetProperty("sync_state").GetString());
        Assert.True(rows[1].GetProperty("created_at").GetDateTimeOffset() <= rows[1].GetProperty("updated_at").GetDateTimeOffset());
        Assert.All(rows, r => Assert.False(r.TryGetProperty("key", out _)));
    }

    [Fact]
    public async Task TheListFiltersNarrowTheExportAndBadValuesAreProblems()
    {
        var (_, admin) = await SuperAdminAsync();
        var tag = Tag();
        string a = "가 " + tag, b = "나 " + tag, c = "다 " + tag;
        await admin.CreateUsersAsync([
            UserTestData.Row(a, "org-" + tag, ["gpt-4o"], ["billing"]),
            UserTestData.Row(b, "org-" + tag, ["gpt-4o-mini"], ["search"]),
            UserTestData.Row(c, "other-" + tag, ["gpt-4o-mini"], ["billing"]),
        ]);
        var search = "search=" + Uri.EscapeDataString(tag);

        Assert.Equal([a, b], await ExportedIdsAsync(admin, "organization=" + Uri.EscapeDataString("org-" + tag)));
        Assert.Equal([b, c], await ExportedIdsAsync(admin, search + "&model=gpt-4o-mini"));
        Assert.Equal([a, c], await ExportedIdsAsync(admin, search + "&service=billing"));
        Assert.Equal([a, b, c], await ExportedIdsAsync(admin, search + "&sync=synced"));
        Assert.Empty(await ExportedIdsAsync(admin, search + "&sync=pending"));

        var badSync = await (await admin.GetAsync("/api/v1/users/export?sync=lost")).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(badSync.GetProperty("errors").TryGetProperty("sync", out _));
        var badFormat = await (await admin.GetAsync("/api/v1/users/export?format=xlsx")).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(badFormat.GetProperty("errors").TryGetProperty("format", out _));
        await (await admin.GetAsync("/api/v1/users/export?include_keys=yes")).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task KeysAreExportedOnlyWhenAskedAndAuditedAsADisclosureOfEachUserAndTheCsvPastesBackWithThem()
    {
        var (name, admin) = await SuperAdminAsync();
        var tag = Tag();
        var (kim, hong) = ("김 민지 " + tag, "홍길동" + tag);
        await admin.CreateUsersAsync([UserTestData.Row(kim), UserTestData.Row(hong)]);
        var keys = new[] { app.LiteLlm.FindKeyByAlias(kim)!.Key, app.LiteLlm.FindKeyByAlias(hong)!.Key };

        using var csv = await admin.GetAsync($"/api/v1/users/export?include_keys=true&search={Uri.EscapeDataString(tag)}");
        using var jsonl = await admin.GetAsync($"/api/v1/users/export?include_keys=true&format=jsonl&search={Uri.EscapeDataString(tag)}");

        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("no-store", csv.Headers.CacheControl!.ToString());
        Assert.StartsWith("mama-users-with-keys-", csv.Content.Headers.ContentDisposition!.FileName!.Trim('"'));
        var text = await csv.Content.ReadAsStringAsync();
        var lines = text.TrimStart('\uFEFF').Split("\r\n");
        Assert.Equal("user_id,organization,allowed_models,allowed_services,extra_info,key,created_at,updated_at,sync_state,expires_at", lines[0]);
        Assert.Equal(keys, lines[1..3].Select(l => Csv.SplitLine(l)[5]));
        var pasted = UserDrafts.Parse(text);
        Assert.Equal(keys, pasted.Select(d => d.ToRequest().Key));
        var rows = (await jsonl.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement);
        Assert.Equal(keys, rows.Select(r => r.GetProperty("key").GetString()));

        await using var db = app.NewDbContext();
        var disclosures = await db.AuditEvents.Where(e => e.Actor == name && e.Action == "user.read_key").ToListAsync();
        Assert.Equal(2, disclosures.Count); // one per export, each naming both users
        Assert.All(disclosures, d => Assert.Equal([kim, hong], AuditEvent.SplitUserIds(d.UserIds)));
        Assert.All(disclosures, d => Assert.DoesNotContain("sk-", d.Detail));
        var summaries = await db.AuditEvents.Where(e => e.Actor == name && e.Action == "user.export").ToListAsync();
        Assert.All(summaries, s => Assert.Equal((AuditResult.Success, 2L, true, true), Summary(s)));
        Assert.Equal(2, summaries.Count);
    }

    [Fact]
    public async Task OnlyASuperAdminMayExportWithOrWithoutKeysNotAnAdminNorAManagingApiClient()
    {
        var (_, _, plain) = await app.NewAdminAsync();
        using var super = await app.SuperAdminAsync();
        var created = await (await super.PostJsonAsync("/api/v1/api-clients", new { name = "m-" + Guid.NewGuid().ToString("N")[..8], service = "billing", scope = "manage" }))
            .ReadAsync<Mama.ApiClients.CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token); // a client that may manage users, not export them

        await (await plain.GetAsync("/api/v1/users/export?include_keys=true")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await plain.GetAsync("/api/v1/users/export")).AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/users/export")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateClient().GetAsync("/api/v1/users/export")).StatusCode);
        plain.Dispose();
        client.Dispose();
    }

    [Fact]
    public async Task ThousandsOfUsersStreamInBatchesEachAuditedWithAtMostAThousandIds()
    {
        var (name, admin) = await SuperAdminAsync();
        var organization = "bulk-" + Tag();
        var ids = await InsertUsersAsync(organization, 2_500);

        using var response = await admin.GetAsync("/api/v1/users/export?include_keys=true&organization=" + Uri.EscapeDataString(organization),
            HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Content.Headers.ContentLength); // streamed, not buffered and measured first
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var exported = new List<string>();
        await reader.ReadLineAsync(); // header
        while (await reader.ReadLineAsync() is { } line) exported.Add(Csv.SplitLine(line)[0]);
        Assert.Equal(ids, exported);

        await using var db = app.NewDbContext();
        var disclosures = await db.AuditEvents.Where(e => e.Actor == name && e.Action == "user.read_key").OrderBy(e => e.Id).ToListAsync();
        Assert.Equal([1000, 1000, 500], disclosures.Select(d => AuditEvent.SplitUserIds(d.UserIds).Count));
        Assert.Equal(ids, disclosures.SelectMany(d => AuditEvent.SplitUserIds(d.UserIds)));
        Assert.Equal((AuditResult.Success, 2_500L, true, true), Summary(await db.AuditEvents.SingleAsync(e => e.Actor == name && e.Action == "user.export")));
    }

    [Fact]
    public async Task AClientThatLeavesMidExportLeavesDisclosuresOnlyForWhatWasUnderWayAndASummarySayingItStopped()
    {
        var (name, admin) = await SuperAdminAsync();
        var organization = "gone-" + Tag();
        await InsertUsersAsync(organization, 3_000);

        var response = await admin.GetAsync("/api/v1/users/export?include_keys=true&organization=" + Uri.EscapeDataString(organization),
            HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        Assert.True(await stream.ReadAsync(new byte[1024]) > 0);
        response.Dispose();

        await using var db = app.NewDbContext();
        await MamaApp.EventuallyAsync(() => db.AuditEvents.AnyAsync(e => e.Actor == name && e.Action == "user.export"), "the export's summary is written");
        var summary = await db.AuditEvents.SingleAsync(e => e.Actor == name && e.Action == "user.export");
        var (result, sent, complete, _) = Summary(summary);
        Assert.Equal((AuditResult.Failure, false), (result, complete));
        var disclosed = (await db.AuditEvents.Where(e => e.Actor == name && e.Action == "user.read_key").ToListAsync())
            .Sum(d => AuditEvent.SplitUserIds(d.UserIds).Count);
        Assert.InRange(disclosed, sent, 2_000); // every row sent was audited first; the last batch never was
        Assert.Equal(disclosed, JsonDocument.Parse(summary.Detail).RootElement.GetProperty("rows_audited").GetInt64());
    }

    private async Task<(string Name, HttpClient Client)> SuperAdminAsync()
    {
        var (name, _, client) = await app.NewAdminAsync("super_admin");
        return (name, client);
    }

    private static async Task<List<string>> ExportedIdsAsync(HttpClient admin, string query)
    {
        using var response = await admin.GetAsync("/api/v1/users/export?format=jsonl&" + query);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("user_id").GetString()!).ToList();
    }

    /// <summary>Users written straight to the database (already synced, so nothing calls the proxy): thousands through the API would take long.</summary>
    private async Task<List<string>> InsertUsersAsync(string organization, int count)
    {
        var protector = app.Service<KeyProtector>();
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, count).Select(i => $"{organization} {i:D5}").ToList();
        await using var db = app.NewDbContext();
        foreach (var id in ids)
        {
            var key = KeyProtector.NewLiteLlmKey();
            var user = new User
            {
                UserId = id,
                Organization = organization,
                KeyCiphertext = protector.Protect(key, id),
                KeyEncryptionKeyId = protector.CurrentKeyId,
                KeyHash = LiteLlmClient.HashKey(key),
                KeyLastFour = key[^4..],
                CreatedAt = now,
                CreatedBy = "test",
                UpdatedAt = now,
                UpdatedBy = "test",
                SyncState = SyncState.Synced,
                KeyLiveAt = now,
                LastSyncedAt = now,
            };
            user.SetModels(["gpt-4o"]);
            db.KeyUsers.Add(user);
        }
        await db.SaveChangesAsync();
        return ids;
    }

    private static (AuditResult Result, long RowsSent, bool Complete, bool IncludeKeys) Summary(AuditEvent e)
    {
        var detail = JsonDocument.Parse(e.Detail).RootElement;
        return (e.Result, detail.GetProperty("rows_sent").GetInt64(), detail.GetProperty("complete").GetBoolean(), detail.GetProperty("include_keys").GetBoolean());
    }

    private static string Tag() => new(Enumerable.Range(0, 4).Select(_ => (char)Random.Shared.Next(0xAC00, 0xD7A4)).ToArray());
}

public sealed class UserExportTestsOnSqlite(SqliteApp app) : UserExportTests(app), IClassFixture<SqliteApp>;

public sealed class UserExportTestsOnPostgres(PostgresApp app) : UserExportTests(app), IClassFixture<PostgresApp>;
