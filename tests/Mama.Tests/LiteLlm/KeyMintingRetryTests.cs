using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>
/// An interrupted mint's key can land on the proxy after the recovery listed the alias (a slow proxy stores a generate
/// whose caller gave up): the recovery's own mint then meets "alias already exists" with mama's leftover, not a conflict.
/// </summary>
public abstract class KeyMintingRetryTests(MamaApp app)
{
    [Fact]
    public async Task AMintMeetingTheLeftoverOfAnInterruptedMintRemovesItAndMintsAgainInsteadOfRecordingAConflict()
    {
        // Generates answer slowly here, so the proxy's timeout for mama must be longer than that.
        await app.RestartAsync(new Dictionary<string, string?> { ["LiteLlm:Timeout"] = "00:00:30" });
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var leftover = PlantedKeys.NewKey();
        await app.PlantAsync("parked-" + id, leftover, metadata: new { managed_by = "mama", organization = "acme" });
        app.LiteLlm.KeyPolicy.CustomKeysDisabled = true;
        Assert.Equal(SyncOutcome.Synced, (await admin.CreateUsersAsync([UserTestData.Row(id)])).Sync.Single().State);

        // As mama finds the user after an interrupted mint: intent set, and the proxy without the stored key.
        using var proxy = ProxyClient();
        await using (var db = app.NewDbContext())
        {
            var user = await db.KeyUsers.SingleAsync(u => u.UserId == id);
            Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/delete", new { keys = new[] { user.KeyHash } })).StatusCode);
            user.MintRequestedAt = DateTimeOffset.UtcNow;
            user.SyncState = SyncState.Pending;
            user.NextSyncAt = DateTimeOffset.UtcNow.AddHours(1); // the retry below, not the reconciler, syncs it
            await db.SaveChangesAsync();
        }
        var generates = Generates();
        app.LiteLlm.SetLatency(TimeSpan.FromSeconds(3), "/key/generate");
        try
        {
            var retry = admin.PostAsync($"/api/v1/users/{id}/sync", null);
            // The recovery has listed the alias and sent its mint; the interrupted mint's key lands before the proxy handles it.
            await MamaApp.EventuallyAsync(() => Task.FromResult(Generates() > generates), "the recovery's mint reaches the proxy");
            Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/update", new { key = LiteLlmClient.HashKey(leftover), key_alias = id })).StatusCode);

            var outcome = await (await retry).ReadAsync<SyncOutcome>();

            Assert.Equal(SyncOutcome.Synced, outcome.State);
        }
        finally
        {
            app.LiteLlm.SetLatency(TimeSpan.Zero, "/key/generate");
        }
        Assert.Null(app.LiteLlm.FindKey(LiteLlmClient.HashKey(leftover)));
        await using (var db = app.NewDbContext())
        {
            var user = await db.KeyUsers.SingleAsync(u => u.UserId == id);
            Assert.Equal((SyncState.Synced, (DateTimeOffset?)null), (user.SyncState, user.MintRequestedAt));
            Assert.Equal(user.KeyHash, Assert.Single(app.LiteLlm.GetKeys(), k => k.KeyAlias == id).Token);
        }
    }

    private int Generates() => app.LiteLlm.Requests.Snapshot().Count(r => r.Method == "POST" && r.Url == "/key/generate");

    private HttpClient ProxyClient()
    {
        var client = new HttpClient { BaseAddress = app.Emulator.BaseUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MamaApp.MasterKey);
        return client;
    }
}

public sealed class KeyMintingRetryTestsOnSqlite(SqliteApp app) : KeyMintingRetryTests(app), IClassFixture<SqliteApp>;
public sealed class KeyMintingRetryTestsOnPostgres(PostgresApp app) : KeyMintingRetryTests(app), IClassFixture<PostgresApp>;
